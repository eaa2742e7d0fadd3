// The alert line of the network machine's event: a captive network (a login
// or payment page answering every name) is told apart from a dead one.
import { describe, expect, it } from 'vitest';
import { eventText } from '../../src/alerts/text.js';
import type { StoredEvent } from '../../src/model.js';

const offlineEvent = (details: Record<string, unknown>): StoredEvent => ({
  event_id: 'e1',
  kind: 'network.offline',
  target: null,
  url: null,
  verdict: null,
  at: '2026-11-01T05:00:00.000Z',
  measurement_ids: [],
  details: { since: '2026-11-01T04:00:00.000Z', sweeps: 2, units: 3, decisive: 3, offline: 3, ...details },
});

describe('network.offline alert text', () => {
  it('says captive when the sweeps that confirmed it were captive', () => {
    const text = eventText(offlineEvent({ captive: 3 }));
    expect(text).toMatch(/^rasad: the probe's own network is captive since /);
    expect(text).toContain('nothing is blamed on the targets');
  });

  it('says offline for a dead network, and for events stored before the captive count existed', () => {
    for (const details of [{ captive: 0 }, {}]) expect(eventText(offlineEvent(details))).toMatch(/^rasad: the probe's own network is offline since /);
  });
});

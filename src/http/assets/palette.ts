// Colours of verdicts and events, shared by the stylesheet and the timeline
// canvas. Blocking verdicts are warm (red, orange, purple); ok is green;
// "not the target's fault" (down, offline, inconclusive) is grey or yellow.
import type { EventKind, Verdict } from '../../model.js';

export const VERDICT_COLORS: Record<Verdict | 'pending', string> = {
  ok: '#2f9e44',
  down: '#adb5bd',
  inconclusive: '#f2c94c',
  'network.offline': '#495057',
  'network.captive': '#495057',
  'site.geoblocked': '#868e96',
  'dns.nxdomain': '#e03131',
  'dns.injected': '#c92a2a',
  'dns.timeout': '#ff6b6b',
  'tcp.blocked': '#a61e4d',
  'tls.reset': '#9c36b5',
  'tls.session_cut': '#7048e8',
  'http.reset': '#e8590c',
  'http.blockpage': '#d9480f',
  'http.diff': '#f08c00',
  throttled: '#1971c2',
  'protocol.filtered': '#862e9c',
  'protocol.blocked': '#5f3dc4',
  pending: '#ced4da',
};

export const EVENT_COLORS: Record<EventKind, string> = {
  blocked: '#c92a2a',
  unblocked: '#2f9e44',
  https_unblocked: '#0c8599',
  shutdown: '#212529',
  restored: '#2f9e44',
  'network.offline': '#495057',
  'network.online': '#868e96',
  'control.down': '#e67700',
  'control.up': '#5c940d',
  'storage.failing': '#c92a2a',
  'storage.ok': '#2f9e44',
};

/** The CSS class of a verdict or event kind: dots are not welcome in class names. */
export function cssClass(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** Light text on dark badges, dark text on light ones. */
export function textColorOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const luminance = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return luminance > 0.6 ? '#212529' : '#ffffff';
}

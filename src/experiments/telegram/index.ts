// Telegram (OONI's telegram): the data centres over plain HTTP on ports 80
// and 443, and the web client over HTTP and HTTPS. Input: app://telegram.
import { telegramProbe } from '../../../probes/app_telegram.js';
import type { AppConnect, AppFetch } from '../../../probes/app_steps.js';
import { appExperiment, arr } from '../apps.js';
import { judgeTelegram } from './judge.js';
import { TELEGRAM_TEST_VERSION, telegramKeys } from './ooni.js';

export const telegramExperiment = appExperiment({
  kind: 'telegram',
  summary: "whether Telegram's data centres answer over HTTP on 80 and 443, and web.telegram.org loads",
  probe: telegramProbe,
  reached: (d) => arr<AppConnect>(d.datacenters).some((c) => c.failure === null) || arr<AppFetch>(d.web).some((w) => w.status_code !== null),
  judge: judgeTelegram,
  ooni: { testVersion: TELEGRAM_TEST_VERSION, keys: (d) => telegramKeys(d) },
});


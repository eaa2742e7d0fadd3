// Telegram in OONI's data format: the keys of OONI's telegram test (ts-020).
import type { TelegramDetails } from '../../../probes/app_telegram.js';
import type { AppConnect } from '../../../probes/app_steps.js';
import { arr, ooniTcpConnect } from '../apps.js';
import { telegramStatus } from './judge.js';

/** OONI's telegram test version whose keys these are. */
export const TELEGRAM_TEST_VERSION = '0.3.1';

export function telegramKeys(details: TelegramDetails | null): Record<string, unknown> {
  return { ...telegramStatus(details), tcp_connect: ooniTcpConnect(arr<AppConnect>(details?.datacenters)) };
}

// WhatsApp in OONI's data format: the keys of OONI's whatsapp test (ts-018).
import type { AppConnect } from '../../../probes/app_steps.js';
import type { WhatsappDetails } from '../../../probes/app_whatsapp.js';
import { arr, ooniTcpConnect } from '../apps.js';
import { whatsappStatus } from './judge.js';

/** OONI's whatsapp test version whose keys these are. */
export const WHATSAPP_TEST_VERSION = '0.11.0';

export function whatsappKeys(details: WhatsappDetails | null): Record<string, unknown> {
  return { ...whatsappStatus(details), tcp_connect: ooniTcpConnect(arr<AppConnect>(details?.endpoints)) };
}

// WhatsApp (OONI's whatsapp): the chat endpoints on TCP 443 and 5222, the
// registration service over HTTPS, and web.whatsapp.com. Input: app://whatsapp.
import type { AppConnect } from '../../../probes/app_steps.js';
import { whatsappProbe } from '../../../probes/app_whatsapp.js';
import { appExperiment, arr } from '../apps.js';
import { judgeWhatsapp } from './judge.js';
import { WHATSAPP_TEST_VERSION, whatsappKeys } from './ooni.js';

export const whatsappExperiment = appExperiment({
  kind: 'whatsapp',
  summary: "whether WhatsApp's chat endpoints accept on 443 and 5222, its registration service answers, and web.whatsapp.com loads",
  probe: whatsappProbe,
  reached: (d) => arr<AppConnect>(d.endpoints).some((c) => c.failure === null) || d.registration?.status_code != null || d.web?.status_code != null,
  judge: judgeWhatsapp,
  ooni: { testVersion: WHATSAPP_TEST_VERSION, keys: (d) => whatsappKeys(d) },
});

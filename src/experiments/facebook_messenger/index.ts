// Facebook Messenger (OONI's facebook_messenger): the app's hosts resolved
// over UDP and checked against Facebook's AS, then TCP 443.
// Input: app://facebook_messenger.
import { facebookMessengerProbe, type FacebookServiceResult } from '../../../probes/app_facebook_messenger.js';
import { appExperiment, arr } from '../apps.js';
import { judgeFacebookMessenger } from './judge.js';
import { FACEBOOK_MESSENGER_TEST_VERSION, facebookMessengerKeys } from './ooni.js';

export const facebookMessengerExperiment = appExperiment({
  kind: 'facebook_messenger',
  summary: "whether Messenger's hosts resolve inside Facebook's AS32934 and accept on TCP 443",
  probe: facebookMessengerProbe,
  reached: (d) => arr<FacebookServiceResult>(d.services).some((s) => s.connect?.failure === null),
  judge: judgeFacebookMessenger,
  ooni: { testVersion: FACEBOOK_MESSENGER_TEST_VERSION, keys: (d) => facebookMessengerKeys(d) },
});

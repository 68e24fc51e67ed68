import { answerHeaders } from '../../../app/security/headers.ts';
import { Tokens } from '../../../app/security/tokens.ts';
import { cartFromHash } from '../../../app/stores/carts.ts';
import { cartPage } from '../../../app/views/pages.ts';
import type { AppConfig } from '../../../config/index.ts';

/**
 * The app's answer to `GET /get`, for the reference servers of the benchmark: the app's headers and
 * its cart page, with the CSRF token of the session, so that all of them send the same bytes.
 */
export function cartAnswer(config: AppConfig) {
  const tokens = new Tokens(config.sessionSecret);
  return {
    tokens,
    headers: { ...answerHeaders(config.instanceId), 'content-type': 'text/html; charset=utf-8' },
    page: (sid: string, email: string, hash: Record<string, string>) =>
      cartPage(
        { instance: config.instanceId, email, csrf: tokens.csrfFor('session', sid), path: '/get' },
        cartFromHash(hash),
        false,
      ),
  };
}

// The program's own OpenStack calls (the lost-server search, the tenant's quota) are side paths:
// they make the plan better, and never fail the deployment. Without OpenStack credentials in the
// environment (`OS_*` or `OS_CLOUD`), or when Keystone or the service keeps failing, they say why
// and the deployment goes on without what they would have told.
import {
  OpenStackHttpError,
  openStackCredentials,
  OpenStackSession,
} from "../dynamic-providers/openstack/session";

/** How often a call tries, and how long it waits before trying again (times the try). */
export interface CloudRetry {
  attempts: number;
  delayMs: number;
}

export const defaultCloudRetry: CloudRetry = { attempts: 3, delayMs: 2000 };

/**
 * Logs in and runs `call`: 5xx answers and timeouts are tried again a bounded number of times,
 * other answers not; what cannot be had comes back as `{ skipped: why }`.
 */
export async function onTheCloud<T>(
  what: string,
  call: (session: OpenStackSession) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
  retry: CloudRetry = defaultCloudRetry,
): Promise<T | { skipped: string }> {
  const credentials = openStackCredentials(env);
  if ("missing" in credentials) return { skipped: credentials.missing };
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(await OpenStackSession.login(credentials));
    } catch (err) {
      const status = err instanceof OpenStackHttpError ? err.status : undefined;
      const transient = status === undefined || status >= 500;
      if (!transient || attempt >= retry.attempts) {
        const tries = attempt === 1 ? "" : ` (${attempt} tries)`;
        // fetch says only "fetch failed"; its cause says why (a certificate, a refused port).
        const cause = (err as Error).cause as Error | undefined;
        const why = cause?.message
          ? `${(err as Error).message}: ${cause.message}`
          : (err as Error).message;
        return { skipped: `${what} failed${tries}: ${why}` };
      }
      await new Promise((resolve) => setTimeout(resolve, retry.delayMs * attempt));
    }
  }
}

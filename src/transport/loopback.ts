/**
 * A host name that only this machine can reach. What binds by default (runners, the dashboard,
 * metrics endpoints) binds here, and whatever listens elsewhere needs a token: one test for all.
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether a process of this host is still running: the spill and sandbox folders of runners
 * that are gone are removed at start, those of live ones (this runner's peers on one host) kept.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // someone else's live process
  }
}

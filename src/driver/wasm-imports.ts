// `import bytes from "./k.wasm"` outside a bundle: in this process (a baseline on a worker
// thread, a test calling a kernel module directly), Node does not know .wasm imports without
// --experimental-wasm-modules, and that flag gives a module namespace, not bytes. This hook
// gives what the bundler's binary loader gives on the runners: the file's bytes as the
// default export, so one kernel module runs unchanged in both places.
import { register } from "node:module";

// A data: URL so that no loader file has to be found next to the compiled output.
const HOOKS = `
export async function load(url, context, next) {
  if (!url.startsWith("file:") || !/\\.wasm(\\?|#|$)/.test(url)) return next(url, context);
  const { readFile } = await import("node:fs/promises");
  const b64 = (await readFile(new URL(url))).toString("base64");
  return { format: "module", shortCircuit: true, source: "export default new Uint8Array(Buffer.from(" + JSON.stringify(b64) + ", 'base64'));" };
}`;

let registered = false;

/** Makes `.wasm` imports in this process (all threads started after) load as bytes. Idempotent. */
export function registerWasmImports(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
}

import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The floors of src/ (docs/architecture.md): every import points down. A rule per floor
// names what that floor may not reach; a later block for the same files replaces the rule,
// so each block lists all of its floor's bans.
const ban = (what, why) => ({ regex: `(^|/)(${what})`, message: why });
const above = {
  transport: ban("protocol/|channels/|driver/|runner/|head/|cli/|index\\.ts$|runtime\\.ts$", "transport/ is floor 2: it imports only floor 1 (errors, log)."),
  protocol: ban("channels/|driver/|runner/|head/|cli/|index\\.ts$|runtime\\.ts$", "protocol/ is floor 3: driver, runner and head share it, so it imports none of them."),
  channels: ban("driver/|runner/|head/|cli/|index\\.ts$|runtime\\.ts$", "channels/ is floor 3.5: the home of channels (Go semantics) and its client, shared by driver and runner threads; it imports protocol/, transport/ and floor 1 only."),
  driverTop: ban("runner/|head/|cli/|runtime\\.ts$", "the driver never imports the runner or the head (they share only protocol/) nor the CLI."),
  runner: ban("driver/|head/|cli/|(\\.\\./)+index\\.ts$", "the runner never imports the driver or the head (they share only protocol/) nor the CLI."),
  head: ban("driver/|runner/|cli/|index\\.ts$|runtime\\.ts$", "the head never imports the driver or the runner (they share only protocol/) nor the CLI."),
  base: ban("transport/|protocol/|channels/|driver/|runner/|head/|cli/|index\\.ts$|runtime\\.ts$", "floor 1 (errors, log, context, comm) imports nothing of Strand's."),
  runtime: ban("channels/|driver/|runner/|cli/|index\\.ts$", "runtime.ts is bundled into remote modules: it pulls in no driver or runner code."),
};
// Inside the driver: calls/ and objects/ never reach link/ (only cluster.ts wires them),
// objects/ never reaches calls/, channels/ stands alone, and no room imports the top.
const top = ban("\\.\\./(cluster|connect|local|spmd)\\.ts$", "a driver room never imports the driver's top (cluster.ts wires the rooms together).");
const link = ban("link/", "calls/ and objects/ talk to a runner through RunnerPort / ObjectHolder, never to link/.");
const calls = ban("calls/", "objects/ knows no calls: calls depend on objects, not back.");
const rooms = ban("calls/|objects/|link/", "channels/ stands alone: the cluster wires channels to links.");
const watch = ban("link/", "observe/ watches calls and runners through what calls/ and objects/ expose, never through link/.");
// actors/ reaches runners through ActorRunner (a RunnerLink, as cluster.ts hands it over).
const reach = ban("link/", "actors/ talks to runners through ActorRunner and to the cluster through ActorHost, never to link/.");
const view = ban("link/|objects/", "dashboard/ reads the cluster through DashboardSource (watch, observe, runners, stats), never through link/ or objects/.");
// scale/ is interfaces and a pure policy: what a cluster asks of whatever starts its runners.
const alone = ban("calls/|objects/|link/|channels/|observe/|dashboard/|membership/|slurm/", "scale/ stands alone: the cluster hands it its load through LoadSource.");
// slurm/ starts a head and runner jobs and uses a cluster through its public face (connect, scale).
const outside = ban("calls/|objects/|link/|channels/|observe/|dashboard/|membership/", "slurm/ uses a cluster through connect() and its public face, never the rooms inside it.");
// builds/ runs commands through ExecHost (cluster.ts provides it) and graphs through the cluster's public face.
const builds = ban("calls/|link/|channels/|observe/|dashboard/|membership/|scale/|slurm/", "builds/ reaches runners through ExecHost and a cluster through its public face (a Ref is the one thing of objects/ it knows).");
const restrict = (...patterns) => ({ "no-restricted-imports": ["error", { patterns }] });

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "scratch/", "bench/.out/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", performance: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", queueMicrotask: "readonly", AbortController: "readonly", AbortSignal: "readonly", SharedArrayBuffer: "readonly", structuredClone: "readonly" },
      parserOptions: { projectService: { allowDefaultProject: ["*.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      // A promise nobody awaits or handles loses its rejection; `void` says it is on purpose.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
  { files: ["src/errors.ts", "src/log.ts", "src/context.ts", "src/comm.ts", "src/go.ts", "src/wasm-kernel.ts"], rules: restrict(above.base) },
  { files: ["src/transport/**"], rules: restrict(above.transport) },
  { files: ["src/protocol/**"], rules: restrict(above.protocol) },
  { files: ["src/channels/**"], rules: restrict(above.channels) },
  { files: ["src/runner/**"], rules: restrict(above.runner) },
  { files: ["src/head/**"], rules: restrict(above.head) },
  { files: ["src/runtime.ts"], rules: restrict(above.runtime) },
  { files: ["src/driver/**"], rules: restrict(above.driverTop) },
  { files: ["src/driver/calls/**"], rules: restrict(above.driverTop, top, link) },
  { files: ["src/driver/objects/**"], rules: restrict(above.driverTop, top, link, calls) },
  { files: ["src/driver/link/**"], rules: restrict(above.driverTop, top) },
  { files: ["src/driver/membership/**"], rules: restrict(above.driverTop, top, rooms) },
  { files: ["src/driver/channels/**"], rules: restrict(above.driverTop, top, rooms) },
  { files: ["src/driver/observe/**"], rules: restrict(above.driverTop, top, watch) },
  { files: ["src/driver/actors/**"], rules: restrict(above.driverTop, top, reach) },
  { files: ["src/driver/dashboard/**"], rules: restrict(above.driverTop, top, view) },
  { files: ["src/driver/scale/**"], rules: restrict(above.driverTop, top, alone) },
  { files: ["src/driver/slurm/**"], rules: restrict(above.driverTop, outside) },
  { files: ["src/driver/builds/**"], rules: restrict(above.driverTop, top, builds) },
  // The dashboard's page runs in a browser.
  {
    files: ["src/driver/dashboard/assets/**/*.js"],
    languageOptions: { sourceType: "script", globals: { window: "readonly", document: "readonly", EventSource: "readonly", Node: "readonly", structuredClone: "readonly" } },
  },
);

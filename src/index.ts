export { local, connect, type ConnectOptions, type LocalOptions } from "./driver/connect.ts";
export type { TlsOptions } from "./transport/secure.ts";
export { Cluster, type ClusterOptions, type ClusterStats, type ImportOptions, type MetricsEndpoints, type ModuleStats, type RunnerEvent, type RunnerListener, type RunnerStatus } from "./driver/cluster.ts";
export type { LinkOptions } from "./driver/link-options.ts";
export { slurm, type SlurmOptions, type SlurmRunnersOptions } from "./driver/slurm/slurm.ts";
export type { AdaptOptions } from "./driver/scale/adapt.ts";
export type { LogsOption, RemoteLogLine, RemoteLogSink } from "./driver/remote-logs.ts";
export type { ReconnectOptions } from "./driver/link/rejoin.ts";
export type { HeartbeatOptions } from "./protocol/heartbeat.ts";
export type { Goroutine, Remote, RemoteFunction, RemoteParameters } from "./driver/calls/remote.ts";
export type { RemoteActor, RemoteClass, SpawnOptions, ActorControl } from "./driver/calls/remote-actor.ts";
export type { ChannelStats } from "./channels/channel-home.ts";
export { Ref, type RefOr } from "./driver/objects/ref.ts";
export { Chan, select, type RecvChan, type SendChan, type RecvResult, type SelectCase, type Selected, type SelectOptions } from "./protocol/chan.ts";
export type { CallOptions } from "./driver/calls/call-options.ts";
export type { RunnerStats } from "./protocol/messages.ts";
export type { RunnerUsage, Span } from "./protocol/activity.ts";
export type { ActivityListener, RunnerActivity, WatchOptions } from "./driver/observe/runner-watch.ts";
export type { ClusterTrace, TraceOptions, TraceSummary } from "./driver/observe/trace/cluster-trace.ts";
export type { TraceEvent, TraceFile } from "./driver/observe/trace/trace-events.ts";
export type { CallObserver } from "./driver/calls/call.ts";
export type { DashboardOptions } from "./driver/dashboard/options.ts";
export { RunnerDaemon, type RunnerOptions } from "./runner/daemon.ts";
export type { MetricsAddress } from "./protocol/metrics/endpoint.ts";
export {
  StrandError, RemoteError, RunnerLostError, NoRunnersError, ClusterClosedError, SerializationError, AuthError, ProtocolError,
  TimeoutError, CancelledError, ImportError, ObjectLostError, ObjectStoreFullError,
  ChannelClosedError, ChannelBrokenError, GoroutineLimitError, JobAbortedError, SlurmError, ActorDiedError, ActorNotFoundError, ActorExistsError, type StrandErrorCode,
  WasmImportError, WasmTrapError, WasmExitError, MpiError, MpiAbortError, CommandError, ToolchainError, SandboxError, SandboxSetupError, SpawnHelperError,
} from "./errors.ts";
export { context, type CallContext } from "./context.ts";
export {
  comm, ANY, PROC_NULL, testAll, testAny, waitAll, waitAny,
  type Comm, type Message, type ReduceOp, type ElementOp, type LocOp, type Request, type Completion, type Completions, type Indexed,
  type Status, type ValueKind, type TypedArray, type Vector,
} from "./comm.ts";
export type { SpmdOptions } from "./driver/spmd.ts";
export type { FileRef, Directory } from "./driver/builds/file-ref.ts";
export type { ExecSpec, ExecResult, ExecHooks, ExecTimings } from "./driver/builds/exec.ts";
export type { ToolInfo } from "./protocol/exec-wire.ts";
export { runGraph, type GraphCluster, type GraphOptions, type GraphResult, type ActionEvent, type ActionOutcome } from "./driver/builds/graph-runner.ts";
export { loadGraph, validate as validateGraph, GraphError, type Graph, type GraphAction, type GraphInput } from "./driver/builds/graph.ts";
export { Progress, type ProgressOptions, type ProgressSnapshot, type FunctionCounts } from "./driver/observe/progress.ts";
export { progress, type ItemsProgressOptions, type Settled } from "./driver/observe/progress-items.ts";
export { registerWasmImports } from "./driver/wasm-imports.ts";

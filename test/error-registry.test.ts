import { describe, expect, it } from "vitest";
import * as strand from "../src/index.ts";
import * as runtime from "../src/runtime.ts";
import {
  AuthError, CancelledError, ChannelBrokenError, ChannelClosedError, ClusterClosedError, ImportError, JobAbortedError, ActorDiedError, ActorNotFoundError, ActorExistsError,
  GoroutineLimitError, NoRunnersError, ObjectLostError, ObjectStoreFullError, ProtocolError, RemoteError, RunnerLostError, SerializationError, SlurmError, StrandError, TimeoutError,
  MpiAbortError, MpiError, WasmExitError, WasmImportError, WasmTrapError, CommandError, ToolchainError, SandboxError, SandboxSetupError, SpawnHelperError,
} from "../src/index.ts";
import { errorClasses, errorClassOf, reviveStrandError, type ErrorClass } from "../src/errors.ts";
import { decodeError, encodeSegments } from "../src/protocol/codec.ts";

/** Every error class the package exports (the main entry and the runtime one). */
const exported: ErrorClass[] = [...new Set<unknown>([...Object.values(strand), ...Object.values(runtime)])]
  .filter((v): v is ErrorClass => typeof v === "function" && Object.prototype.isPrototypeOf.call(StrandError.prototype, v.prototype));

/**
 * One instance of every class, its fields set to values that differ from the defaults a
 * careless reviver would give ("", 0, undefined). A class missing here fails the test below.
 */
const samples: Record<string, () => StrandError> = {
  RemoteError: () => new RemoteError({
    message: "no such key", remoteName: "TypeError", remoteStack: "TypeError: no such key\n    at lookup (m.ts:3:9)",
    remoteCode: "E_KEY", functionName: "lookup", runner: "10.0.0.1:7000",
  }),
  RunnerLostError: () => new RunnerLostError("10.0.0.2:7000", "heartbeats stopped for 1500 ms", 4),
  NoRunnersError: () => new NoRunnersError("add", 60_000),
  ClusterClosedError: () => new ClusterClosedError("put"),
  SerializationError: () => new SerializationError("args[1].onDone", "is a function"),
  AuthError: () => new AuthError("bad token"),
  ProtocolError: () => new ProtocolError("unexpected message 99"),
  TimeoutError: () => new TimeoutError("spin", 300),
  CancelledError: () => new CancelledError("spin cancelled"),
  ImportError: () => new ImportError("module m.ts has no export f"),
  ObjectLostError: () => new ObjectLostError("d1.o7", "released before this call"),
  ObjectStoreFullError: () => new ObjectStoreFullError(1024, 512, 1200),
  ChannelClosedError: () => new ChannelClosedError("d1.c3", "send on closed channel"),
  ChannelBrokenError: () => new ChannelBrokenError("d1.c4", "runner 10.0.0.3:7000 was lost"),
  GoroutineLimitError: () => new GoroutineLimitError("10.0.0.4:7000", "100 goroutines live (--max-goroutines 100)", "link"),
  JobAbortedError: () => new JobAbortedError(2, "boom at rank 2"),
  SlurmError: () => new SlurmError("sbatch", "Invalid partition name specified"),
  WasmImportError: () => new WasmImportError("prog.wasm", ["env.fork", "strand_mpi.MPI_Win_create"]),
  WasmTrapError: () => new WasmTrapError(3, "unreachable", "    at solve (wasm://wasm/7a2b:wasm-function[12]:0x4f1)"),
  WasmExitError: () => new WasmExitError(1, 3),
  MpiError: () => new MpiError("MPI_Send", 2, "buffer 0x10fff0 + 4 x 8 bytes is outside linear memory (1114112 bytes)"),
  MpiAbortError: () => new MpiAbortError(1, 7),
  ActorDiedError: () => new ActorDiedError("d1.a3", "Counter", "its runner 10.0.0.3:7000 was lost"),
  ActorNotFoundError: () => new ActorNotFoundError("params"),
  ActorExistsError: () => new ActorExistsError("params", "d1.a2"),
  CommandError: () => new CommandError(["gcc", "-c", "a.c", "-o", "a.o"], 1, "a.c:3:1: error: expected ';' before '}' token\n", "compile-a"),
  ToolchainError: () => new ToolchainError("go@go1.21.0", "go@go1.19.8 (10.0.0.5:7700)"),
  SandboxError: () => new SandboxError("../../etc/passwd", "a path may not leave the sandbox (..)"),
  SandboxSetupError: () => new SandboxSetupError("compile net/http", "work/b231/importcfg", "its folder work/b231 is missing from the sandbox"),
  SpawnHelperError: () => new SpawnHelperError("compile net/http", "killed by SIGKILL"),
};

/** How the runner sends an error (a failed call's answer) and how the driver reads it back. */
function overTheWire(e: unknown): Error {
  return decodeError(encodeSegments(e, "error").map((s) => s.slice()));
}

/** The public own fields of an error (code and name included): what must survive. */
function ownFields(e: Error): Record<string, unknown> {
  return { ...e };
}

function expectSame(out: Error, e: StrandError): void {
  const Class = errorClassOf(e.code)!;
  expect(Object.getPrototypeOf(out)).toBe(Class.prototype);
  expect(out).toBeInstanceOf(Class);
  expect(out).toBeInstanceOf(StrandError);
  expect((out as StrandError).code).toBe(e.code);
  expect(ownFields(out)).toStrictEqual(ownFields(e));
  expect((out as StrandError).fields()).toStrictEqual(e.fields());
  expect(out.message).toBe(e.message);
  expect(out.stack).toBe(e.stack);
}

describe("error registry", () => {
  it("finds the package's error classes", () => {
    expect(exported.length).toBeGreaterThanOrEqual(14);
    expect(exported).toContain(ClusterClosedError);
  });

  it("has every exported error class registered under its own code", () => {
    for (const Class of exported) expect(errorClassOf(Class.code), Class.name).toBe(Class);
  });

  it("registers only classes the package exports", () => {
    for (const Class of errorClasses()) expect(exported, Class.name).toContain(Class);
  });

  it("has a sample of every exported error class in this test", () => {
    expect(Object.keys(samples).sort()).toEqual(exported.map((C) => C.name).sort());
    for (const [name, make] of Object.entries(samples)) expect(make().constructor.name).toBe(name);
  });

  describe.each(Object.entries(samples))("%s", (_name, make) => {
    it("comes back from the wire as its class, with its code, fields, message and remote stack", () => {
      const e = make();
      expectSame(overTheWire(e), e);
    });

    it("keeps a message added to after it was made (where a call failed)", () => {
      const e = make();
      e.message += " (lookup on runner 10.0.0.1:7000)";
      expectSame(overTheWire(e), e);
    });

    it("comes back as the cause of an error thrown by a remote function", () => {
      const e = make();
      const thrown = new TypeError("wrapped", { cause: e });
      const out = overTheWire(thrown);
      expect(out).toBeInstanceOf(TypeError);
      expectSame(out.cause as Error, e);
    });

    it("comes back inside a value", () => {
      const e = make();
      const out = overTheWire(new RangeError("holder", { cause: { list: [e], byKey: new Map([["k", e]]) } }));
      const { list, byKey } = out.cause as { list: Error[]; byKey: Map<string, Error> };
      expectSame(list[0]!, e);
      expect(byKey.get("k")).toBe(list[0]); // one error, one revival
    });
  });
});

describe("error registry: what it does not know", () => {
  it("turns an unknown code into a plain StrandError that names it", () => {
    const e = reviveStrandError("ERR_STRAND_FROM_THE_FUTURE", "FutureError", "something new", { when: 1 });
    expect(Object.getPrototypeOf(e)).toBe(StrandError.prototype);
    expect(e.code).toBe("ERR_STRAND");
    expect(e.name).toBe("FutureError");
    expect(e.message).toBe("something new [ERR_STRAND_FROM_THE_FUTURE: this copy of strand does not know that code]");
    expect(e).not.toBeInstanceOf(RunnerLostError);
  });

  it("turns a known code with missing or mistyped fields into a plain StrandError that says which", () => {
    const missing = reviveStrandError(RunnerLostError.code, "RunnerLostError", "runner x lost", { runner: "x" });
    expect(Object.getPrototypeOf(missing)).toBe(StrandError.prototype);
    expect(missing.message).toBe('runner x lost [ERR_STRAND_RUNNER_LOST: its field "reason" is missing or malformed]');
    const mistyped = reviveStrandError(JobAbortedError.code, "JobAbortedError", "job aborted", { rank: "2", reason: "r" });
    expect(mistyped).not.toBeInstanceOf(JobAbortedError);
    expect(mistyped.message).toMatch(/field "rank"/);
  });

  it("never reads a field from Object.prototype", () => {
    const e = reviveStrandError(ChannelClosedError.code, "ChannelClosedError", "m", Object.create({ channel: "inherited" }) as Record<string, unknown>);
    expect(e).not.toBeInstanceOf(ChannelClosedError);
  });

  it("keeps a plain StrandError as one", () => {
    const e = new StrandError("ERR_STRAND", "generic");
    const out = overTheWire(e);
    expect(Object.getPrototypeOf(out)).toBe(StrandError.prototype);
    expect((out as StrandError).code).toBe("ERR_STRAND");
    expect(out.message).toBe("generic");
    expect(out.stack).toBe(e.stack);
  });

  it("reads an error whose fields are not a record without throwing", () => {
    for (const fields of [[1, 2], new Map([["runner", "x"]]), "runner"]) {
      const e = reviveStrandError(RunnerLostError.code, "RunnerLostError", "lost", fields as unknown as Record<string, unknown>);
      expect(e).toBeInstanceOf(StrandError);
      expect(e).not.toBeInstanceOf(RunnerLostError);
    }
  });
});

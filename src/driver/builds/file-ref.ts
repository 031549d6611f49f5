// Files as commands see them: content-hashed, and where they are is the driver's business
// (file-table.ts), not the Ref's. A FileRef is plain data, so a build can keep it (JSON) and
// compare it by hash.

/** A file in the cluster: its SHA-256, size and whether it is executable. */
export interface FileRef {
  readonly hash: string;
  readonly size: number;
  readonly executable: boolean;
}

/** A tree of files, by `/`-separated path relative to its root (`cluster.putDir`). */
export interface Directory {
  readonly files: Readonly<Record<string, FileRef>>;
}

export const isFileRef = (v: unknown): v is FileRef =>
  typeof v === "object" && v !== null && typeof (v as FileRef).hash === "string" && typeof (v as FileRef).size === "number" && typeof (v as FileRef).executable === "boolean";

export const isDirectory = (v: unknown): v is Directory =>
  typeof v === "object" && v !== null && typeof (v as Directory).files === "object" && (v as Directory).files !== null && !isFileRef(v);

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM file paths of one certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestPki {
  /** The CA that signs the runners' and the driver's certificates. */
  ca: string;
  /** For 127.0.0.1 (IP SAN) and localhost; server and client use (runners dial each other). */
  runner: CertFiles;
  /** A driver's client certificate, signed by `ca`. */
  client: CertFiles;
  /** Another CA, and a client certificate it signed: not trusted by the runners. */
  otherCa: string;
  rogue: CertFiles;
}

/**
 * Makes a small PKI in `dir` with the openssl CLI: P-256 keys (quick to make), certificates
 * valid for a day. The caller removes `dir`.
 */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const f = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => run("openssl", args, { cwd: dir });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const makeCa = (name: string, cn: string): Promise<unknown> =>
    openssl("req", "-x509", ...newKey, "-keyout", f(`${name}.key`), "-out", f(`${name}.crt`), "-days", "1", "-subj", `/CN=${cn}`);
  const sign = async (name: string, ca: string, extensions: string): Promise<CertFiles> => {
    await openssl("req", ...newKey, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`);
    await writeFile(f(`${name}.ext`), extensions);
    await openssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f(`${ca}.crt`), "-CAkey", f(`${ca}.key`),
      "-set_serial", `0x${randomBytes(8).toString("hex")}`,
      "-out", f(`${name}.crt`), "-days", "1", "-extfile", f(`${name}.ext`));
    return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
  };
  await Promise.all([makeCa("ca", "Strand test CA"), makeCa("other-ca", "Some other CA")]);
  const [runner, client, rogue] = await Promise.all([
    sign("runner", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"),
    sign("client", "ca", "extendedKeyUsage=clientAuth\n"),
    sign("rogue", "other-ca", "extendedKeyUsage=clientAuth\n"),
  ]);
  return { ca: f("ca.crt"), runner, client, otherCa: f("other-ca.crt"), rogue };
}

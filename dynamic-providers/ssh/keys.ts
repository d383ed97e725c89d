// OpenSSH public keys: parsing a key line and its SHA256 fingerprint. A module of its own, with no
// imports: the host-key provider needs only the fingerprint, not the whole metrics pull.

/** A parsed OpenSSH public key line. */
export interface OpenSshPublicKey {
  /** Key type as the line names it (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...). */
  type: string;
  /** The key blob in SSH wire format (the line's base64 field, decoded). */
  blob: Buffer;
}

/**
 * Parses an OpenSSH public key line (`type base64 [comment]`), checking that the blob names the
 * same type. Returns the reason it is not one otherwise.
 */
export function parseOpenSshPublicKey(line: string): OpenSshPublicKey | { error: string } {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 2 || !/^[A-Za-z0-9@._-]+$/.test(fields[0])) {
    return { error: "not an OpenSSH public key line (type base64 [comment])" };
  }
  const [type, b64] = fields;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return { error: "its key field is not base64" };
  const blob = Buffer.from(b64, "base64");
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const name =
    nameLength >= 0 && 4 + nameLength <= blob.length
      ? blob.subarray(4, 4 + nameLength).toString("latin1")
      : undefined;
  if (name !== type) return { error: `its key blob is not a ${type} key` };
  return { type, blob };
}

/** The SHA256 fingerprint of a key blob as `ssh-keygen -l` prints it (`SHA256:` unpadded base64). */
export async function sshFingerprint(blob: Buffer): Promise<string> {
  const { createHash } = await import("node:crypto");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

// ed25519 key pairs in OpenSSH's formats, generated with node:crypto: the runner's SSH host key
// (installed by its userdata, pinned by the metrics pull) and the key the metrics pull logs in with.
//
// Encoded here (OpenSSH's PROTOCOL.key format), not with ssh2's utils.generateKeyPairSync: ssh2
// 1.17 strips leading zero bytes from ed25519 keys, so about one key in 128 comes out as a 31-byte
// key that OpenSSH refuses ("error in libcrypto").

/** An OpenSSH key pair. */
export interface OpenSshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` ... newline-ended, unencrypted. */
  privateKey: string;
  /** `ssh-ed25519 AAAA...[ comment]`, without a line break. */
  publicKey: string;
  /** The public key blob (SSH wire format). */
  publicBlob: Buffer;
}

/** An SSH wire-format `string`: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * Encodes an ed25519 key pair (32-byte seed and 32-byte public key) as OpenSSH writes it: the
 * `openssh-key-v1` private key (cipher and KDF "none") and the public key line.
 */
export function encodeEd25519OpenSsh(
  seed: Buffer,
  publicKey: Buffer,
  comment: string,
  checkInt: number,
): OpenSshKeyPair {
  if (seed.length !== 32 || publicKey.length !== 32) {
    throw new Error("an ed25519 seed and public key are 32 bytes each");
  }
  const type = "ssh-ed25519";
  const publicBlob = Buffer.concat([sshString(type), sshString(publicKey)]);
  const check = Buffer.alloc(4);
  check.writeUInt32BE(checkInt >>> 0);
  const section = Buffer.concat([
    check,
    check,
    sshString(type),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  // Padding 1, 2, 3, ... up to the block size (8 for the "none" cipher).
  const padLength = (8 - (section.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    count,
    sshString(publicBlob),
    sshString(Buffer.concat([section, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  const privateKey =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
    lines.join("\n") +
    "\n-----END OPENSSH PRIVATE KEY-----\n";
  const publicLine = `${type} ${publicBlob.toString("base64")}${comment ? ` ${comment}` : ""}`;
  return { privateKey, publicKey: publicLine, publicBlob };
}

/** DER prefix of a PKCS#8 ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = "302e020100300506032b657004220420";

/**
 * A new ed25519 key pair in OpenSSH format, from node:crypto; `seed` fixes the key (for tests).
 */
export async function generateEd25519OpenSsh(
  comment: string,
  seed?: Buffer,
): Promise<OpenSshKeyPair> {
  const crypto = await import("node:crypto");
  const privateKey = seed
    ? crypto.createPrivateKey({
        key: Buffer.concat([Buffer.from(ED25519_PKCS8_PREFIX, "hex"), seed]),
        format: "der",
        type: "pkcs8",
      })
    : crypto.generateKeyPairSync("ed25519").privateKey;
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d || !jwk.x) throw new Error("node:crypto gave an ed25519 key without d or x");
  return encodeEd25519OpenSsh(
    Buffer.from(jwk.d, "base64url"),
    Buffer.from(jwk.x, "base64url"),
    comment,
    crypto.randomBytes(4).readUInt32BE(0),
  );
}

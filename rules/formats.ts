// Formats that more than one layer checks: stack config, the userdata renderer and the providers.
import { integerRule, patternRule, Rule } from "./rule";

/** An http(s) URL: a scheme, a host without spaces, then anything without spaces. */
export const httpUrl = patternRule(/^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/, "an http(s) URL");

/** An OpenStack id (Nova, Glance and Neutron ids are UUIDs), as opposed to a name. */
export const uuid = patternRule(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  "a UUID",
);

const HOST = "[A-Za-z0-9.-]{1,253}";

export const hostName = patternRule(new RegExp(`^${HOST}$`), "a host name");

export const port = integerRule(1, 65535, "a port from 1 to 65535");

/** `host:port`, as the transparent proxy's upstream is given. */
export const hostPort: Rule = {
  allowed: "host:port of the upstream proxy, port 1 to 65535",
  test: (v) => {
    const m = typeof v === "string" ? new RegExp(`^(${HOST}):(\\d{1,5})$`).exec(v) : null;
    return !!m && port.test(Number(m[2]));
  },
};

/** A comma-separated list such as `no_proxy`: not empty, no whitespace. */
export const commaList = patternRule(/^\S+$/, "a comma-separated list without spaces");

/** An OpenSSH host key fingerprint, as `ssh-keygen -lf` prints it. */
export const sshFingerprint = patternRule(
  /^SHA256:[A-Za-z0-9+/]{43}=?$/,
  "an OpenSSH SHA256 fingerprint (SHA256:...)",
);

/** One OpenSSH public key line: `type base64 [comment]`. */
export const sshPublicKeyLine = patternRule(
  /^[A-Za-z0-9@._-]+ [A-Za-z0-9+/]+={0,2}(?: [^\r\n]*)?$/,
  "one OpenSSH public key line (type base64 [comment])",
);

/** An absolute path of plain characters, safe in a script and a config file. */
export const absolutePath = patternRule(
  /^\/[A-Za-z0-9._/-]*$/,
  "an absolute path of letters, digits, '.', '_', '-' and '/'",
);

/**
 * An IPv4 network such as `10.0.0.0/8`: octets without leading zeros (some tools read `010` as
 * octal), and the network's first address (host bits set, `10.0.0.1/8`, is a typo or a misread).
 */
export const ipv4Cidr: Rule = {
  allowed: "an IPv4 network such as 10.0.0.0/8 (its first address, no leading zeros)",
  test: (v) => {
    const m =
      typeof v === "string"
        ? /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(\d|[12]\d|3[0-2])$/.exec(
            v,
          )
        : null;
    if (!m) return false;
    const octets = m.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) return false;
    const address = octets.reduce((a, o) => a * 256 + o, 0);
    const hostBits = 2 ** (32 - Number(m[5]));
    return address % hostBits === 0;
  },
};

/** An http(s) URL with a user or password in it (`https://user:secret@host`). */
export function hasUrlCredentials(url: string): boolean {
  return /^https?:\/\/[^\s/?#]*@/.test(url);
}

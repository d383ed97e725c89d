// The transparent proxy: the aproxy snap forwards HTTP(S) connections to the upstream proxy, and
// nftables sends it every outbound TCP 80/443 connection that leaves the private networks.
import { APROXY_PORT } from "./options";
import { heredoc, shellQuote } from "../rules/shell";

/** Destinations reached directly, never through the proxy. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"];

/**
 * The nftables ruleset. `redirect` is the DNAT to a local port: in the output chain it catches the
 * host's own connections, in prerouting those of containers and VMs routed through the host
 * (Docker, LXD). Declaring then deleting the table first makes loading the ruleset idempotent.
 */
export function renderNftRuleset(): string {
  const rule =
    `ip daddr != { ${PRIVATE_RANGES.join(", ")} } tcp dport { 80, 443 } ` +
    `redirect to :${APROXY_PORT}`;
  return [
    "table ip aproxy",
    "delete table ip aproxy",
    "table ip aproxy {",
    "  chain prerouting {",
    "    type nat hook prerouting priority -100; policy accept;",
    `    ${rule}`,
    "  }",
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    `    ${rule}`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The userdata lines that install aproxy, point it at `upstream` and load the ruleset. */
export function renderTransparentProxy(upstream: string): string {
  const ruleset = heredoc(renderNftRuleset(), "NFT_RULESET");
  return [
    "snap install aproxy --edge",
    `snap set aproxy proxy=${shellQuote(upstream)} listen=:${APROXY_PORT}`,
    `nft -f - ${ruleset.redirect}`,
    ruleset.text,
  ].join("\n");
}

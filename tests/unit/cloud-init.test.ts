// The userdata renderer, read as text: quoting, validation, the scripts' syntax (bash -n,
// shellcheck), the order of the steps and what each option adds. Running the scripts is
// cloud-init-behaviour.test.ts's job.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  pickSshDebugRelay,
  renderNftRuleset,
  renderPreJobScript,
  renderUserData,
  SshDebugRelay,
  UserDataOptions,
} from "../../cloud-init";
import { heredoc, shellQuote } from "../../rules/shell";

const JIT = "SklULVNFQ1JFVC1CTE9C";
const minimal: UserDataOptions = {
  runnerName: "ci-0a1b2c3d4e5f",
  registration: { mode: "jit", encodedJitConfig: JIT },
};
const relays: SshDebugRelay[] = ["a", "b", "c"].map((x) => ({
  host: `tmate-${x}.corp`,
  port: 10022,
  rsaFingerprint: `SHA256:${`rsa${x}`.padEnd(43, "R")}`,
  ed25519Fingerprint: `SHA256:${`ed${x}`.padEnd(43, "E")}`,
}));
const everything: UserDataOptions = {
  ...minimal,
  proxy: {
    http: "http://proxy.corp:3128",
    https: "http://proxy.corp:3129",
    noProxy: "10.0.0.0/8,.corp",
    aproxyAddress: "proxy.corp:3128",
  },
  dockerhubMirror: "https://mirror.corp",
  sshDebugRelays: relays,
  repoPolicyCompliance: { url: "http://policy.corp:8080/", token: "POLICY-TOKEN" },
  authorCheck: true,
  preJobScript: "echo custom-pre-job-step\n",
};
const tokenMode: UserDataOptions = {
  ...minimal,
  registration: {
    mode: "registration-token",
    url: "https://ghes.corp/acme",
    token: "REGTOKEN",
    labels: ["gpu", "large"],
  },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-init-static-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs bash with a script given as text; returns its stdout. */
function bash(script: string): string {
  const res = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** Lines of `on` that `off` does not have, and the other way round. */
function lineDiff(off: string, on: string): { added: string[]; removed: string[] } {
  const offLines = new Set(off.split("\n"));
  const onLines = new Set(on.split("\n"));
  return {
    added: on.split("\n").filter((l) => !offLines.has(l)),
    removed: off.split("\n").filter((l) => !onLines.has(l)),
  };
}

describe("cloud-init: shell quoting", function () {
  const hostile = [
    "",
    "plain",
    "it's",
    "'",
    "''''",
    `"double" quotes`,
    "$(touch PWNED)",
    "`touch PWNED`",
    "${HOME} $HOME $0 $@",
    "back\\slash\\",
    "line one\nline two\n",
    "tab\there; rm -rf / #",
    "!! history *glob* ?[a]",
    "ünïcödé ✓",
  ];

  it("gives back every hostile string exactly, running nothing", function () {
    for (const value of hostile) {
      const out = bash(`cd ${shellQuote(tmp)} && printf '%s' ${shellQuote(value)}`);
      assert.equal(out, value);
    }
    assert.equal(fs.existsSync(path.join(tmp, "PWNED")), false);
  });

  it("rejects a NUL character", function () {
    assert.throws(() => shellQuote("a\0b"), /cannot contain a NUL character/);
  });

  it("ends a heredoc with a delimiter that no line of its body equals", function () {
    const body = "EOF\nEOF_2\n$(touch PWNED) `x` 'q'\nlast line without newline";
    const doc = heredoc(body, "EOF");
    assert.equal(doc.redirect, "<<'EOF_3'");
    assert.equal(bash(`cd ${shellQuote(tmp)} && cat ${doc.redirect}\n${doc.text}\n`), `${body}\n`);
    assert.equal(fs.existsSync(path.join(tmp, "PWNED")), false);
  });
});

describe("cloud-init: syntax", function () {
  const scripts: [string, () => string][] = [
    ["the minimal JIT userdata", () => renderUserData(minimal)],
    ["the userdata with every option", () => renderUserData(everything)],
    ["the registration-token userdata", () => renderUserData(tokenMode)],
    ["the pre-job script with every option", () => renderPreJobScript(everything)],
    ["the minimal pre-job script", () => renderPreJobScript({})],
  ];
  for (const [what, render] of scripts) {
    it(`passes bash -n and shellcheck: ${what}`, function () {
      const file = path.join(tmp, `${what.replace(/\W+/g, "-")}.sh`);
      fs.writeFileSync(file, render());
      const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
      assert.equal(syntax.status, 0, syntax.stderr);
      const lint = spawnSync("shellcheck", [file], { encoding: "utf8" });
      assert.equal(lint.error, undefined, "shellcheck is not on PATH");
      assert.equal(lint.status, 0, lint.stdout);
    });
  }

  it("starts with a bash shebang and never traces commands", function () {
    for (const script of [renderUserData(everything), renderPreJobScript(everything)]) {
      assert.match(script, /^#!\/bin\/bash\n/);
      assert.doesNotMatch(script, /^\s*set -[a-z]*x|set -o xtrace/m);
    }
  });
});

describe("cloud-init: userdata steps", function () {
  it("runs the steps in order", function () {
    const script = renderUserData(everything);
    const markers = [
      "hostnamectl set-hostname 'ci-0a1b2c3d4e5f'",
      'cat >"$runner_dir/.env"',
      "snap install aproxy --edge",
      "nft -f -",
      "apt-get update",
      "usermod -aG lxd,adm ubuntu",
      "registry-mirrors",
      "systemctl restart docker",
      'mkdir -p "$metrics_dir"',
      'cat >"$pre_job_script"',
      'chmod 755 "$pre_job_script"',
      "runner-installed.timestamp",
      "./run.sh --jitconfig",
      "post-job-metrics.json",
    ];
    const at = markers.map((m) => script.lastIndexOf(m));
    markers.forEach((m, i) => assert.ok(at[i] >= 0, `missing ${m}`));
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      `out of order: ${markers.join(" | ")}`,
    );
  });

  it("puts the JIT config only on the run.sh command line", function () {
    const lines = renderUserData(everything)
      .split("\n")
      .filter((l) => l.includes(JIT));
    assert.deepEqual(lines, [
      `runuser -u ubuntu -- ./run.sh --jitconfig '${JIT}' || runner_status=$?`,
    ]);
  });

  it("configures and runs the runner with a registration token", function () {
    const script = renderUserData(tokenMode);
    assert.ok(
      script.includes(
        "runuser -u ubuntu -- ./config.sh --url 'https://ghes.corp/acme' --token 'REGTOKEN' " +
          "--name 'ci-0a1b2c3d4e5f' --labels 'gpu,large' --ephemeral --unattended --disableupdate &&\n" +
          "  runuser -u ubuntu -- ./run.sh || runner_status=$?",
      ),
    );
    assert.doesNotMatch(script, /--jitconfig/);
    assert.equal(script.split("REGTOKEN").length, 2, "the token appears once");
  });

  it("leaves --labels out when a registration-token runner has no extra labels", function () {
    const script = renderUserData({
      ...tokenMode,
      registration: {
        mode: "registration-token",
        url: "https://ghes.corp/acme",
        token: "T",
        labels: [],
      },
    });
    assert.match(script, /--name 'ci-0a1b2c3d4e5f' --ephemeral/);
    assert.doesNotMatch(script, /--labels/);
  });

  it("uses the given runner and metrics directories", function () {
    const script = renderUserData({ ...minimal, runnerDir: "/opt/runner", metricsDir: "/var/m" });
    assert.match(script, /^runner_dir='\/opt\/runner'$/m);
    assert.match(script, /^metrics_dir='\/var\/m'$/m);
    assert.match(script, /^ACTIONS_RUNNER_HOOK_JOB_STARTED=\/opt\/runner\/pre-job\.sh$/m);
    assert.match(renderPreJobScript({ metricsDir: "/var/m" }), /^metrics_dir='\/var\/m'$/m);
  });

  it("writes the documented .env for a minimal runner", function () {
    const env = /cat >"\$runner_dir\/\.env" <<'(\w+)'\n([\s\S]*?)\n\1\n/.exec(
      renderUserData(minimal),
    );
    assert.deepEqual(env?.[2].split("\n"), [
      "PATH=/home/ubuntu/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin",
      "LANG=C.UTF-8",
      "ACTIONS_RUNNER_HOOK_JOB_STARTED=/home/ubuntu/actions-runner/pre-job.sh",
    ]);
  });
});

describe("cloud-init: options", function () {
  const base = renderUserData(minimal);
  const offMarkers = [
    /proxy/i,
    /aproxy|nft -f|snap install/,
    /daemon\.json|DOCKERHUB_MIRROR|CONTAINER_REGISTRY_URL|restart docker/,
    /TMATE_/,
    /check-run|curl|repo-policy-compliance|Runner\.Listener|shutdown/,
    /author_association/,
    /pre-job-script/,
  ];

  it("adds nothing optional to the minimal userdata", function () {
    for (const marker of offMarkers) assert.doesNotMatch(base, marker);
  });

  /** Every line the option adds matches one of `expected`, each of which matches a line. */
  function assertAdds(change: Partial<UserDataOptions>, expected: RegExp[]) {
    const { added, removed } = lineDiff(base, renderUserData({ ...minimal, ...change }));
    assert.deepEqual(removed, []);
    for (const line of added) {
      assert.ok(
        expected.some((re) => re.test(line)),
        `unexpected line: ${JSON.stringify(line)}`,
      );
    }
    for (const re of expected)
      assert.ok(
        added.some((l) => re.test(l)),
        `no line matches ${re}`,
      );
  }

  it("adds the proxy variables to the .env and to its own environment", function () {
    assertAdds({ proxy: { http: "http://p:1", https: "http://p:2", noProxy: "a,b" } }, [
      /^(http_proxy|HTTP_PROXY)=http:\/\/p:1$/,
      /^(https_proxy|HTTPS_PROXY)=http:\/\/p:2$/,
      /^(no_proxy|NO_PROXY)=a,b$/,
      /^export (http_proxy|HTTP_PROXY)='http:\/\/p:1'$/,
      /^export (https_proxy|HTTPS_PROXY)='http:\/\/p:2'$/,
      /^export (no_proxy|NO_PROXY)='a,b'$/,
      /^# This script's own downloads/,
    ]);
  });

  it("adds aproxy and the nftables redirect with an aproxy address", function () {
    const script = renderUserData({ ...minimal, proxy: { aproxyAddress: "proxy.corp:3128" } });
    assert.ok(
      script.includes(
        "snap install aproxy --edge\n" +
          "snap set aproxy proxy='proxy.corp:3128' listen=:54969\n" +
          `nft -f - <<'NFT_RULESET'\n${renderNftRuleset()}NFT_RULESET\n`,
      ),
    );
    assert.doesNotMatch(script, /http_proxy|HTTP_PROXY/);
  });

  it("redirects outbound TCP 80 and 443 to aproxy, except private ranges", function () {
    const rules = renderNftRuleset()
      .split("\n")
      .filter((l) => /redirect/.test(l));
    assert.equal(rules.length, 2);
    for (const rule of rules) {
      assert.equal(
        rule.trim(),
        "ip daddr != { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8 } " +
          "tcp dport { 80, 443 } redirect to :54969",
      );
    }
    assert.match(renderNftRuleset(), /hook prerouting/);
    assert.match(renderNftRuleset(), /hook output/);
  });

  it("points Docker and the jobs at a Docker Hub mirror", function () {
    assertAdds({ dockerhubMirror: "https://mirror.corp" }, [
      /^DOCKERHUB_MIRROR=https:\/\/mirror\.corp$/,
      /^CONTAINER_REGISTRY_URL=https:\/\/mirror\.corp$/,
      /^log "pointing Docker at the Docker Hub mirror"$/,
      /^# Merged into the daemon's existing settings/,
      /^mkdir -p '\/etc\/docker'$/,
      /^\{ cat '\/etc\/docker\/daemon\.json' 2>\/dev\/null \|\| true; \} \|$/,
      /^ {2}jq -s --arg mirror 'https:\/\/mirror\.corp' .*"registry-mirrors": \[\$mirror\]/,
      /^ {2}write_atomically '\/etc\/docker\/daemon\.json'$/,
      /^systemctl restart docker$/,
    ]);
  });

  it("gives the runner one SSH debug relay", function () {
    const relay = pickSshDebugRelay(minimal.runnerName, relays) as SshDebugRelay;
    assertAdds({ sshDebugRelays: relays }, [
      new RegExp(`^TMATE_SERVER_HOST=${relay.host}$`),
      /^TMATE_SERVER_PORT=10022$/,
      new RegExp(`^TMATE_SERVER_RSA_FINGERPRINT=${relay.rsaFingerprint}$`),
      new RegExp(`^TMATE_SERVER_ED25519_FINGERPRINT=${relay.ed25519Fingerprint}$`),
    ]);
  });

  it("picks the relay from the runner's name: stable, spread, the only one when alone", function () {
    assert.equal(pickSshDebugRelay("any-name", []), undefined);
    assert.equal(pickSshDebugRelay("any-name", undefined), undefined);
    assert.equal(pickSshDebugRelay("any-name", relays.slice(0, 1)), relays[0]);
    assert.equal(pickSshDebugRelay("ci-1", relays), pickSshDebugRelay("ci-1", relays));
    const picked = new Set(
      Array.from({ length: 60 }, (_, i) => pickSshDebugRelay(`ci-${i}`, relays)?.host),
    );
    assert.equal(picked.size, relays.length);
  });

  /** The pre-job script of the options, as the userdata writes it. */
  function preJobOf(script: string): string {
    const m = /cat >"\$pre_job_script" <<'(\w+)'\n([\s\S]*?\n)\1\n/.exec(script);
    assert.ok(m, "no pre-job heredoc");
    return m[2];
  }

  it("embeds exactly renderPreJobScript's output as the pre-job script", function () {
    assert.equal(preJobOf(renderUserData(everything)), renderPreJobScript(everything));
    assert.equal(preJobOf(base), renderPreJobScript({}));
  });

  const preJobOptions: [string, Partial<UserDataOptions>, RegExp[]][] = [
    [
      "the repo-policy check",
      { repoPolicyCompliance: { url: "http://policy.corp:8080/", token: "POLICY-TOKEN" } },
      [
        /^policy_url='http:\/\/policy\.corp:8080\/check-run'$/m,
        /^policy_token='POLICY-TOKEN'$/m,
        /^ {2}pkill -f Runner\.Listener$/m,
        /^ {2}sudo -n shutdown -h now$/m,
        /--header @<\(printf 'Authorization: Bearer %s\\n' "\$policy_token"\)/,
      ],
    ],
    [
      "the author check",
      { authorCheck: true },
      [/author_association/, /OWNER \| MEMBER \| COLLABORATOR\)/],
    ],
    [
      "a user pre-job script",
      { preJobScript: "echo custom-pre-job-step" },
      [/^bash -c 'echo custom-pre-job-step' pre-job-script \|\| \{$/m],
    ],
  ];
  for (const [what, change, expected] of preJobOptions) {
    it(`adds ${what} to the pre-job script only, after the metrics`, function () {
      const on = renderPreJobScript(change);
      const off = renderPreJobScript({});
      const { removed, added } = lineDiff(off, on);
      assert.deepEqual(removed, []);
      assert.ok(on.startsWith(off), "the option's section follows what is always there");
      for (const re of expected) assert.match(on, re);
      for (const other of preJobOptions.filter(([w]) => w !== what)) {
        for (const re of other[2]) assert.doesNotMatch(added.join("\n"), re);
      }
      assert.deepEqual(lineDiff(base, renderUserData({ ...minimal, ...change })).removed, []);
    });
  }

  it("keeps the policy checks, author check and user script in that order", function () {
    const script = renderPreJobScript(everything);
    const at = ["pre-job-metrics.json", "check-run", "author_association", "pre-job-script"].map(
      (m) => script.indexOf(m),
    );
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
    );
  });

  it("joins the policy URL and /check-run with one slash", function () {
    for (const url of ["http://p:1", "http://p:1/", "http://p:1//"]) {
      const script = renderPreJobScript({ repoPolicyCompliance: { url, token: "t" } });
      assert.match(script, /^policy_url='http:\/\/p:1\/check-run'$/m);
    }
  });

  it("quotes a hostile user pre-job script and a heredoc delimiter inside it", function () {
    const hostileScript = "echo '$(x)' \"`y`\"\nPRE_JOB_SCRIPT\nRUNNER_ENV\n";
    const script = renderUserData({ ...minimal, preJobScript: hostileScript });
    assert.equal(preJobOf(script), renderPreJobScript({ preJobScript: hostileScript }));
    const syntax = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(syntax.status, 0, syntax.stderr);
  });
});

describe("cloud-init: validation", function () {
  const rejections: [string, Partial<UserDataOptions>, RegExp][] = [
    [
      "a runner name with a space",
      { runnerName: "my runner" },
      /`runnerName` must be 1 to 64 .* got "my runner"/,
    ],
    ["a runner name with an underscore", { runnerName: "ci_1" }, /`runnerName` .* got "ci_1"/],
    [
      "a runner name over 64 characters",
      { runnerName: "r".repeat(65) },
      /`runnerName` must be 1 to 64/,
    ],
    [
      "a runner name starting with '-'",
      { runnerName: "-ci" },
      /starting and ending with a letter or digit/,
    ],
    ["an empty runner name", { runnerName: "" }, /`runnerName` .* got ""/],
    [
      "a JIT config that is not base64",
      { registration: { mode: "jit", encodedJitConfig: "SECRET'; reboot" } },
      /`registration.encodedJitConfig` must be a non-empty base64 string \(value withheld: it is a secret\)/,
    ],
    [
      "a registration token with a space",
      {
        registration: {
          mode: "registration-token",
          url: "https://g/a",
          token: "SECRET TOKEN",
          labels: [],
        },
      },
      /`registration.token` must be .* \(value withheld: it is a secret\)/,
    ],
    [
      "a registration URL that is not http(s)",
      { registration: { mode: "registration-token", url: "ftp://g/a", token: "T", labels: [] } },
      /`registration.url` must be an http\(s\) URL, got "ftp:\/\/g\/a"/,
    ],
    [
      "a label with a comma",
      {
        registration: {
          mode: "registration-token",
          url: "https://g/a",
          token: "T",
          labels: ["ok", "a,b"],
        },
      },
      /`registration.labels` must be a list of labels .* got "a,b"/,
    ],
    [
      "an unknown registration mode",
      { registration: { mode: "pat" } as unknown as UserDataOptions["registration"] },
      /`registration.mode` must be "jit" or "registration-token" .*got "pat"/,
    ],
    [
      "a relative runner directory",
      { runnerDir: "actions-runner" },
      /`runnerDir` must be an absolute path .* got "actions-runner"/,
    ],
    [
      "a metrics directory with a space",
      { metricsDir: "/home/a b" },
      /`metricsDir` must be an absolute path/,
    ],
    [
      "a proxy URL with a line break",
      { proxy: { http: "http://p:1\nEVIL=1" } },
      /`proxy.http` must be an http\(s\) URL, got "http:\/\/p:1\\nEVIL=1"/,
    ],
    [
      "a no_proxy list with a space",
      { proxy: { noProxy: "a, b" } },
      /`proxy.noProxy` must be a comma-separated list without spaces, got "a, b"/,
    ],
    [
      "an aproxy address without a port",
      { proxy: { aproxyAddress: "proxy.corp" } },
      /`proxy.aproxyAddress` must be host:port .* got "proxy.corp"/,
    ],
    [
      "an aproxy port over 65535",
      { proxy: { aproxyAddress: "p:70000" } },
      /`proxy.aproxyAddress` .* got "p:70000"/,
    ],
    [
      "a Docker Hub mirror that is not a URL",
      { dockerhubMirror: "mirror.corp" },
      /`dockerhubMirror` must be an http\(s\) URL, got "mirror.corp"/,
    ],
    [
      "a relay with port 0",
      { sshDebugRelays: [{ ...relays[0], port: 0 }] },
      /`sshDebugRelays\[0\].port` must be a port from 1 to 65535, got 0/,
    ],
    [
      "a relay fingerprint with a line break",
      { sshDebugRelays: [relays[0], { ...relays[1], ed25519Fingerprint: "SHA256:x\nEVIL=1" }] },
      /`sshDebugRelays\[1\].ed25519Fingerprint` must be an OpenSSH SHA256 fingerprint/,
    ],
    [
      "a relay host with a slash",
      { sshDebugRelays: [{ ...relays[0], host: "a/b" }] },
      /`sshDebugRelays\[0\].host` must be a host name, got "a\/b"/,
    ],
    [
      "a policy URL that is not http(s)",
      { repoPolicyCompliance: { url: "policy.corp", token: "T" } },
      /`repoPolicyCompliance.url` must be an http\(s\) URL, got "policy.corp"/,
    ],
    [
      "a policy token with a line break",
      { repoPolicyCompliance: { url: "http://p", token: "SECRET\nX-Evil: 1" } },
      /`repoPolicyCompliance.token` must be .* \(value withheld: it is a secret\)/,
    ],
    [
      "a pre-job script with a NUL character",
      { preJobScript: "echo\0" },
      /`preJobScript` must be a script without NUL characters/,
    ],
  ];
  for (const [what, change, message] of rejections) {
    it(`rejects ${what}`, function () {
      assert.throws(
        () => renderUserData({ ...minimal, ...change }),
        (err: Error) => {
          assert.match(err.message, /^invalid runner userdata options: /);
          assert.match(err.message, message);
          assert.doesNotMatch(err.message, /SECRET/, "a secret leaked into the message");
          return true;
        },
      );
    });
  }

  it("rejects every problem at once", function () {
    assert.throws(
      () =>
        renderUserData({
          ...minimal,
          runnerName: "a b",
          runnerDir: "x",
          dockerhubMirror: "m",
        }),
      /`runnerName` .*; `runnerDir` .*; `dockerhubMirror` /,
    );
  });

  it("rejects the pre-job script's own invalid options", function () {
    assert.throws(
      () => renderPreJobScript({ metricsDir: "metrics" }),
      /`metricsDir` must be an absolute path .* got "metrics"/,
    );
  });

  it("rejects userdata that OpenStack would refuse as too long", function () {
    assert.throws(
      () => renderUserData({ ...minimal, preJobScript: "#".repeat(50_000) }),
      /the userdata of runner ci-0a1b2c3d4e5f is \d+ characters in base64; OpenStack allows at most 65535: shorten `preJobScript`/,
    );
  });

  it("accepts the largest runner name and the default paths", function () {
    assert.match(renderUserData({ ...minimal, runnerName: `a${"-".repeat(62)}b` }), /set-hostname/);
  });
});

describe("userdata: SSH host key", function () {
  it("installs the pinned host key privately and restarts sshd, only when given", async function () {
    const base = {
      runnerName: "ci-0a1b2c3d4e5f",
      registration: { mode: "jit" as const, encodedJitConfig: "JIT" },
    };
    const key = {
      privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
      publicKey: "ssh-ed25519 AAAAC3Nza host",
    };
    const withKey = renderUserData({ ...base, sshHostKey: key });
    assert.match(
      withKey,
      /umask 077\n  cat >\/etc\/ssh\/ssh_host_ed25519_key <<'HOST_KEY'\n-----BEGIN/,
    );
    assert.match(withKey, /ssh-ed25519 AAAAC3Nza host\nHOST_KEY_PUB\n/);
    assert.match(withKey, /systemctl restart ssh/);
    assert.ok(withKey.indexOf("ssh_host_ed25519_key") < withKey.indexOf("run.sh"));
    assert.doesNotMatch(renderUserData(base), /ssh_host_ed25519_key/);
  });

  it("authorizes the manager's metrics key for ubuntu, only when given, and refuses a key that is not one line", function () {
    const base = {
      runnerName: "ci-0a1b2c3d4e5f",
      registration: { mode: "jit" as const, encodedJitConfig: "JIT" },
    };
    const line = "ssh-ed25519 AAAAC3Nza runner-fleet-metrics@ci-0a1b2c3d4e5f";
    const withKey = renderUserData({ ...base, sshAuthorizedKey: line });
    assert.match(
      withKey,
      /install -d -m 0700 -o ubuntu -g ubuntu \/home\/ubuntu\/\.ssh\ncat >>\/home\/ubuntu\/\.ssh\/authorized_keys <<'AUTHORIZED_KEY'\nssh-ed25519 AAAAC3Nza runner-fleet-metrics@ci-0a1b2c3d4e5f\nAUTHORIZED_KEY\n/,
    );
    assert.ok(withKey.indexOf("authorized_keys") < withKey.indexOf("run.sh"));
    assert.doesNotMatch(renderUserData(base), /authorized_keys/);
    assert.throws(
      () => renderUserData({ ...base, sshAuthorizedKey: `${line}\ncommand="id" ssh-rsa AAAA x` }),
      /`sshAuthorizedKey` must be one OpenSSH public key line \(type base64 \[comment\]\)/,
    );
  });
});

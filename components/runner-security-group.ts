import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of the fleet's security group. */
export interface RunnerSecurityGroupArgs {
  /** Name of the group in Neutron. */
  groupName: pulumi.Input<string>;
  /** IPv4 CIDR the manager connects from over SSH (metrics); nothing else may reach port 22. */
  sshSourceCidr: string;
}

/** One rule of the group: direction, protocol, ports and remote prefix. */
export interface RuleSpec {
  suffix: string;
  direction: "ingress" | "egress";
  protocol?: "icmp" | "tcp";
  port?: number;
  remoteIpPrefix?: string;
  description: string;
}

/**
 * The rules every runner needs, as the seed system had them: ICMP in (diagnostics), SSH in from the
 * manager only (metrics), TCP 10022 out (tmate relays for SSH debugging), and all traffic out (jobs).
 */
export function runnerSecurityRules(sshSourceCidr: string): RuleSpec[] {
  return [
    {
      suffix: "icmp-in",
      direction: "ingress",
      protocol: "icmp",
      description: "ICMP from anywhere, for diagnostics",
    },
    {
      suffix: "ssh-in",
      direction: "ingress",
      protocol: "tcp",
      port: 22,
      remoteIpPrefix: sshSourceCidr,
      description: "SSH from the fleet manager, to collect metrics",
    },
    {
      suffix: "tmate-out",
      direction: "egress",
      protocol: "tcp",
      port: 10022,
      description: "tmate relays, for SSH debugging of jobs",
    },
    { suffix: "all-out", direction: "egress", description: "all outbound traffic, for jobs" },
  ];
}

/**
 * The security group of the fleet's servers, with each rule a separate resource carrying a
 * description. Neutron's default rules are removed so the group holds exactly these.
 */
export class RunnerSecurityGroup extends pulumi.ComponentResource {
  /** Id of the group. */
  readonly groupId: pulumi.Output<string>;
  /** Name of the group, as servers reference it. */
  readonly groupName: pulumi.Output<string>;

  constructor(name: string, args: RunnerSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerSecurityGroup", name, {}, opts);
    const group = new openstack.networking.SecGroup(
      `${name}-group`,
      {
        name: args.groupName,
        description: "runner-fleet: GitHub Actions runners",
        deleteDefaultRules: true,
      },
      { parent: this },
    );
    for (const spec of runnerSecurityRules(args.sshSourceCidr)) {
      new openstack.networking.SecGroupRule(
        `${name}-${spec.suffix}`,
        {
          securityGroupId: group.id,
          direction: spec.direction,
          ethertype: "IPv4",
          protocol: spec.protocol,
          portRangeMin: spec.port,
          portRangeMax: spec.port,
          remoteIpPrefix: spec.remoteIpPrefix,
          description: spec.description,
        },
        { parent: this },
      );
    }
    this.groupId = group.id;
    this.groupName = group.name;
    this.registerOutputs({ groupId: this.groupId, groupName: this.groupName });
  }
}

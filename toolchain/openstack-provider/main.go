// Command pulumi-resource-openstack is a stand-in for the official Pulumi OpenStack provider
// plugin, used only where the Go module proxy does not serve
// github.com/pulumi/pulumi-openstack/provider/v3 (see scripts/toolchain.sh).
//
// It is built from the same parts the official plugin is built from: the upstream Terraform
// OpenStack provider and the Pulumi Terraform bridge. It maps only the resources and functions
// runner-fleet uses, under the tokens of the @pulumi/openstack SDK, so the SDK talks to it
// unchanged. Property names follow the bridge's standard snake_case to camelCase mapping, which
// is what the SDK was generated from.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// version is stamped by the toolchain script with the @pulumi/openstack version it serves.
var version = "0.0.0-dev"

// resources maps Terraform resource types to @pulumi/openstack tokens.
var resources = map[string]string{
	"openstack_compute_instance_v2":         "openstack:compute/instance:Instance",
	"openstack_compute_keypair_v2":          "openstack:compute/keypair:Keypair",
	"openstack_compute_flavor_v2":           "openstack:compute/flavor:Flavor",
	"openstack_networking_secgroup_v2":      "openstack:networking/secGroup:SecGroup",
	"openstack_networking_secgroup_rule_v2": "openstack:networking/secGroupRule:SecGroupRule",
	"openstack_networking_network_v2":       "openstack:networking/network:Network",
	"openstack_networking_subnet_v2":        "openstack:networking/subnet:Subnet",
	"openstack_images_image_v2":             "openstack:images/image:Image",
}

// functions maps Terraform data sources to @pulumi/openstack function tokens.
var functions = map[string]string{
	"openstack_compute_flavor_v2":      "openstack:compute/getFlavor:getFlavor",
	"openstack_compute_keypair_v2":     "openstack:compute/getKeypair:getKeypair",
	"openstack_networking_network_v2":  "openstack:networking/getNetwork:getNetwork",
	"openstack_networking_secgroup_v2": "openstack:networking/getSecGroup:getSecGroup",
	"openstack_images_image_v2":        "openstack:images/getImage:getImage",
}

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(openstack.Provider()),
		Name:        "openstack",
		Version:     version,
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, tok := range resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(tok)}
	}
	for tf, tok := range functions {
		info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember(tok)}
	}
	return info
}

func main() {
	// The engine asks for the schema only for code generation, which never happens here.
	tfbridge.Main("openstack", version, providerInfo(), []byte(`{"name":"openstack"}`))
}

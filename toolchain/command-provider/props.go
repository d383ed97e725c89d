package main

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// Input property names of command:local:Command, as @pulumi/command 1.2.1 sends them.
const (
	pCreate      = "create"
	pUpdate      = "update"
	pDelete      = "delete"
	pDir         = "dir"
	pEnvironment = "environment"
	pInterpreter = "interpreter"
	pStdin       = "stdin"
	pTriggers    = "triggers"
	pLogging     = "logging"
	pAddPrevious = "addPreviousOutputInEnv"
	pAssetPaths  = "assetPaths"
	pArchivePath = "archivePaths"

	// Outputs that are not inputs.
	pStdout  = "stdout"
	pStderr  = "stderr"
	pAssets  = "assets"
	pArchive = "archive"
)

var stringInputs = []string{pCreate, pUpdate, pDelete, pDir, pStdin}

// execInputs are the inputs that change what a run does: a change to one of them reruns a command.
var execInputs = []string{pCreate, pInterpreter, pDir, pEnvironment, pStdin}

var loggingModes = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

var rpcOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	o := rpcOpts
	o.Label = label
	return plugin.UnmarshalProperties(s, o)
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	o := rpcOpts
	o.Label = label
	return plugin.MarshalProperties(m, o)
}

// plain strips secret wrappers at every depth, so that values can be compared and read.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return plain(o.Element)
	case v.IsArray():
		a := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			a[i] = plain(e)
		}
		return resource.NewArrayProperty(a)
	case v.IsObject():
		return resource.NewObjectProperty(plainMap(v.ObjectValue()))
	}
	return v
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	out := make(resource.PropertyMap, len(m))
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}

// inputsOf returns the input part of a resource state (everything but the outputs).
func inputsOf(state resource.PropertyMap) resource.PropertyMap {
	in := state.Copy()
	for _, k := range []string{pStdout, pStderr, pAssets, pArchive} {
		delete(in, resource.PropertyKey(k))
	}
	return in
}

// anySecret reports whether any input is (or contains) a secret; the outputs of a run are then secret too.
func anySecret(inputs resource.PropertyMap) bool {
	for _, v := range inputs {
		if v.ContainsSecrets() {
			return true
		}
	}
	return false
}

// check validates the inputs and returns the failures. Unknown values pass: they are checked again at run time.
func check(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	fail := func(prop, format string, args ...any) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	for _, key := range news.StableKeys() {
		k := string(key)
		v := plain(news[key])
		if v.IsNull() || v.IsComputed() || resource.IsInternalPropertyKey(key) {
			continue
		}
		switch {
		case slices.Contains(stringInputs, k):
			if !v.IsString() {
				fail(k, "%s must be a string", k)
			}
		case k == pEnvironment:
			if !v.IsObject() {
				fail(k, "environment must be a map of strings")
				continue
			}
			for name, e := range v.ObjectValue() {
				if !e.IsString() && !e.IsComputed() && !e.IsNull() {
					fail(k, "environment.%s must be a string", name)
				}
			}
		case k == pInterpreter:
			if !v.IsArray() {
				fail(k, "interpreter must be a list of strings")
				continue
			}
			if len(v.ArrayValue()) == 0 {
				fail(k, "interpreter must not be empty")
			}
			for i, e := range v.ArrayValue() {
				if !e.IsString() && !e.IsComputed() {
					fail(k, "interpreter[%d] must be a string", i)
				}
			}
		case k == pTriggers:
			if !v.IsArray() {
				fail(k, "triggers must be a list")
			}
		case k == pLogging:
			if !v.IsString() || !slices.Contains(loggingModes, v.StringValue()) {
				fail(k, "logging must be one of %v", loggingModes)
			}
		case k == pAddPrevious:
			if !v.IsBool() {
				fail(k, "addPreviousOutputInEnv must be a boolean")
			}
		case k == pAssetPaths || k == pArchivePath:
			if !v.IsArray() || len(v.ArrayValue()) > 0 {
				fail(k, "%s is not supported by this stand-in command provider "+
					"(runner-fleet toolchain/command-provider); remove it", k)
			}
		default:
			fail(k, "unknown property %q for command:local:Command", k)
		}
	}
	return failures
}

// spec is what a run needs, read from a set of inputs whose values are all known.
type spec struct {
	create, update, delete string
	dir                    string
	env                    []string // NAME=value, in a stable order
	interpreter            []string
	stdin                  *string
	logging                string
	addPrevious            bool
}

func readSpec(inputs resource.PropertyMap) (*spec, error) {
	in := plainMap(inputs)
	for k, v := range in {
		if v.ContainsUnknowns() {
			return nil, fmt.Errorf("input %q is not known yet; it must be known when the command runs", k)
		}
	}
	str := func(k string) string {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	s := &spec{
		create:      str(pCreate),
		update:      str(pUpdate),
		delete:      str(pDelete),
		dir:         str(pDir),
		logging:     str(pLogging),
		addPrevious: true,
		interpreter: defaultInterpreter(),
	}
	if s.logging == "" {
		s.logging = "stdoutAndStderr"
	}
	if v, ok := in[pStdin]; ok && v.IsString() {
		stdin := v.StringValue()
		s.stdin = &stdin
	}
	if v, ok := in[pAddPrevious]; ok && v.IsBool() {
		s.addPrevious = v.BoolValue()
	}
	if v, ok := in[pInterpreter]; ok && v.IsArray() && len(v.ArrayValue()) > 0 {
		s.interpreter = nil
		for _, e := range v.ArrayValue() {
			if !e.IsString() {
				return nil, fmt.Errorf("interpreter must be a list of strings")
			}
			s.interpreter = append(s.interpreter, e.StringValue())
		}
	}
	if v, ok := in[pEnvironment]; ok && v.IsObject() {
		env := v.ObjectValue()
		for _, name := range env.StableKeys() {
			if e := env[name]; e.IsString() {
				s.env = append(s.env, string(name)+"="+e.StringValue())
			}
		}
	}
	return s, nil
}

func defaultInterpreter() []string {
	if runtime.GOOS == "windows" {
		return []string{"cmd", "/C"}
	}
	return []string{"/bin/sh", "-c"}
}

// outputs builds the resource state: the inputs as given, plus stdout and stderr, secret when any input is.
func outputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := inputs.Copy()
	secret := anySecret(inputs)
	for k, v := range map[string]resource.PropertyValue{pStdout: stdout, pStderr: stderr} {
		v = plain(v)
		if secret && !v.IsComputed() {
			v = resource.MakeSecret(v)
		}
		out[resource.PropertyKey(k)] = v
	}
	return out
}

// unknownString is the preview value of an output that a run will produce.
var unknownString = resource.MakeComputed(resource.NewStringProperty(""))

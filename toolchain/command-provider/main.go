// Command pulumi-resource-command is a stand-in for the Pulumi Command provider plugin 1.2.1, used
// where the Go module proxy does not serve github.com/pulumi/pulumi-command/provider (see README.md).
//
// It implements only command:local:Command, with the property names of the @pulumi/command 1.2.1
// SDK, so that SDK talks to it unchanged.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	pkgName      = "command"
	version      = "1.2.1"
	commandToken = "command:local:Command"
)

func main() {
	err := provider.Main(pkgName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		ctx, cancel := context.WithCancel(context.Background())
		return &server{host: host, ctx: ctx, cancel: cancel}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu   sync.Mutex
	host *provider.HostClient

	// ctx is cancelled by Cancel: running commands are killed.
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, pkgName, version)}, nil
}

func (s *server) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	host, err := provider.NewHostClient(req.GetAddress())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.host = host
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.cancel()
	return &emptypb.Empty{}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func checkType(t string) error {
	if t != commandToken {
		return status.Errorf(codes.InvalidArgument,
			"unknown resource type %q: this stand-in command provider implements only %s", t, commandToken)
	}
	return nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "check.news")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: check(news)}, nil
}

// changedKeys returns the inputs that differ between olds and news, and those whose only difference is
// secret-ness. Keys listed in ignore are left out.
func changedKeys(olds, news resource.PropertyMap, ignore []string) (changed, secretOnly []string) {
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for k := range keys {
		if resource.IsInternalPropertyKey(k) || slices.Contains(ignore, string(k)) {
			continue
		}
		o, n := olds[k], news[k]
		switch {
		case o.DeepEquals(n):
		case plain(o).DeepEquals(plain(n)) && !plain(n).ContainsUnknowns():
			secretOnly = append(secretOnly, string(k))
		default:
			changed = append(changed, string(k))
		}
	}
	slices.Sort(changed)
	slices.Sort(secretOnly)
	return changed, secretOnly
}

func hasUpdate(news resource.PropertyMap) bool {
	v := plain(news[pUpdate])
	return v.IsComputed() || (v.IsString() && v.StringValue() != "")
}

// replaces reports whether a change of key replaces the resource.
func replaces(key string, news resource.PropertyMap) bool {
	return key == pTriggers || (slices.Contains(execInputs, key) && !hasUpdate(news))
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	oldState, err := unmarshal(req.GetOlds(), "diff.olds")
	if err != nil {
		return nil, err
	}
	olds := inputsOf(oldState)
	if req.GetOldInputs() != nil {
		if olds, err = unmarshal(req.GetOldInputs(), "diff.oldInputs"); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews(), "diff.news")
	if err != nil {
		return nil, err
	}
	changed, secretOnly := changedKeys(olds, news, req.GetIgnoreChanges())
	resp := &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:        map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff:     true,
		DeleteBeforeReplace: false,
	}
	for _, k := range append(changed, secretOnly...) {
		key := resource.PropertyKey(k)
		replace := slices.Contains(changed, k) && replaces(k, news)
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case olds[key].IsNull() && replace:
			kind = pulumirpc.PropertyDiff_ADD_REPLACE
		case olds[key].IsNull():
			kind = pulumirpc.PropertyDiff_ADD
		case news[key].IsNull() && replace:
			kind = pulumirpc.PropertyDiff_DELETE_REPLACE
		case news[key].IsNull():
			kind = pulumirpc.PropertyDiff_DELETE
		case replace:
			kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
		}
		if replace {
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// logger returns the function that sends the lines a command writes to the engine, or nil when they
// may hold secrets or there is no engine to send them to.
func (s *server) logger(ctx context.Context, urn string, secret bool) lineLogger {
	s.mu.Lock()
	host := s.host
	s.mu.Unlock()
	if host == nil || secret {
		return nil
	}
	return func(_, line string) {
		_ = host.Log(ctx, diag.Info, resource.URN(urn), line)
	}
}

// runContext combines the request's context, the provider's cancellation and the request's timeout.
func (s *server) runContext(ctx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	if timeout > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, secondsDuration(timeout))
		prev := cancel
		cancel = func() { cancelT(); prev() }
	}
	return ctx, func() { stop(); cancel() }
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties(), "create.properties")
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(outputs(inputs, unknownString, unknownString), "create.preview")
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	sp, err := readSpec(inputs)
	if err != nil {
		return nil, err
	}
	res := &result{}
	if sp.create != "" {
		rctx, cancel := s.runContext(ctx, req.GetTimeout())
		defer cancel()
		secret := anySecret(inputs)
		if res, err = run(rctx, sp, sp.create, nil, s.logger(ctx, req.GetUrn(), secret), secret); err != nil {
			return nil, err
		}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	props, err := marshal(outputs(inputs, resource.NewStringProperty(res.stdout), resource.NewStringProperty(res.stderr)), "create.outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// previous returns the stdout and stderr recorded in a resource state.
func previous(state resource.PropertyMap) *result {
	str := func(k resource.PropertyKey) string {
		if v := plain(state[k]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	return &result{stdout: str(pStdout), stderr: str(pStderr)}
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	oldState, err := unmarshal(req.GetOlds(), "update.olds")
	if err != nil {
		return nil, err
	}
	olds := inputsOf(oldState)
	if req.GetOldInputs() != nil {
		if olds, err = unmarshal(req.GetOldInputs(), "update.oldInputs"); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews(), "update.news")
	if err != nil {
		return nil, err
	}

	// A change to what a run does reruns `update`; without `update` (only reached when the engine
	// updates what Diff said to replace) it reruns `create`. Other changes only record the new inputs.
	changed, _ := changedKeys(olds, news, req.GetIgnoreChanges())
	rerun := slices.ContainsFunc(changed, func(k string) bool {
		return k == pTriggers || slices.Contains(execInputs, k)
	})
	prev := previous(oldState)
	stdout, stderr := resource.NewStringProperty(prev.stdout), resource.NewStringProperty(prev.stderr)
	if rerun && req.GetPreview() {
		stdout, stderr = unknownString, unknownString
	} else if rerun {
		sp, err := readSpec(news)
		if err != nil {
			return nil, err
		}
		command := sp.update
		if command == "" {
			command = sp.create
		}
		if command != "" {
			rctx, cancel := s.runContext(ctx, req.GetTimeout())
			defer cancel()
			secret := anySecret(news)
			res, err := run(rctx, sp, command, prev, s.logger(ctx, req.GetUrn(), secret), secret)
			if err != nil {
				return nil, err
			}
			stdout, stderr = resource.NewStringProperty(res.stdout), resource.NewStringProperty(res.stderr)
		}
	}
	props, err := marshal(outputs(news, stdout, stderr), "update.outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties(), "delete.properties")
	if err != nil {
		return nil, err
	}
	inputs := inputsOf(state)
	if req.GetOldInputs() != nil {
		if inputs, err = unmarshal(req.GetOldInputs(), "delete.oldInputs"); err != nil {
			return nil, err
		}
	}
	sp, err := readSpec(inputs)
	if err != nil {
		return nil, err
	}
	if sp.delete != "" {
		rctx, cancel := s.runContext(ctx, req.GetTimeout())
		defer cancel()
		secret := anySecret(state)
		if _, err := run(rctx, sp, sp.delete, previous(state), s.logger(ctx, req.GetUrn(), secret), secret); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil && req.GetProperties() != nil {
		state, err := unmarshal(req.GetProperties(), "read.properties")
		if err != nil {
			return nil, err
		}
		if inputs, err = marshal(inputsOf(state), "read.inputs"); err != nil {
			return nil, err
		}
	}
	props := req.GetProperties()
	if props == nil {
		props = &structpb.Struct{}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: inputs}, nil
}

func secondsDuration(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }

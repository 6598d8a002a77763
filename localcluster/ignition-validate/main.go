// ignition-validate: Ignition's own parser and validator (github.com/coreos/ignition/v2, the
// version MCO vendors: go.mod of openshift/machine-config-operator release-4.19..4.22 requires
// v2.20.0) judging MachineConfig Ignition configs for the local cluster's MCO emulation and the
// unit tests. A test harness tool, never shipped in the collection.
//
// Input on stdin, one JSON object a line: {"id": "...", "spec": "3.4"|"3.5", "config": {...}}.
// "spec" is the newest Ignition spec the emulated MCO parses (releases.ignition_max).
// Output on stdout, one JSON object a line in the same order: {"id": "...", "error": "..."}
// with error "" when the library accepts the config. The error texts are worded like MCO's
// pkg/controller/common/helpers.go (IgnParseWrapper, ValidateIgnition, validateIgn3FileModes).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"

	ignerrors "github.com/coreos/ignition/v2/config/shared/errors"
	v34 "github.com/coreos/ignition/v2/config/v3_4"
	v34types "github.com/coreos/ignition/v2/config/v3_4/types"
	v35 "github.com/coreos/ignition/v2/config/v3_5"
	v35types "github.com/coreos/ignition/v2/config/v3_5/types"
	"github.com/coreos/ignition/v2/config/validate"
	"github.com/coreos/vcontext/report"
)

type request struct {
	ID     string          `json:"id"`
	Spec   string          `json:"spec"`
	Config json.RawMessage `json:"config"`
}

type response struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// MCO lists the minor versions its converter supports (ignition_converter.go
// GetSupportedMinorVersions); the set per spec, in ascending order.
var supported = map[string]string{
	"3.4": "2.2,3.0,3.1,3.2,3.3,3.4",
	"3.5": "2.2,3.0,3.1,3.2,3.3,3.4,3.5",
}

// check returns "" when the config is valid for an MCO that parses up to spec.
func check(spec string, raw []byte) string {
	var cfg interface{}
	var rpt report.Report
	var err error
	var empty interface{}
	switch spec {
	case "3.4":
		cfg, rpt, err = v34.ParseCompatibleVersion(raw)
		empty = v34types.Config{}
	case "3.5":
		cfg, rpt, err = v35.ParseCompatibleVersion(raw)
		empty = v35types.Config{}
	default:
		return fmt.Sprintf("ignition-validate: unknown spec %q (3.4 or 3.5)", spec)
	}
	if err != nil || rpt.IsFatal() {
		switch {
		case err != nil && errors.Is(err, ignerrors.ErrInvalidVersion):
			return "parsing Ignition config failed: invalid version. Supported spec versions: " + supported[spec]
		case err != nil && errors.Is(err, ignerrors.ErrUnknownVersion):
			// MCO would try spec 2 (coreos/ignition v0.35.0, not built here) next; the
			// emulator passes 2.x configs to its own check instead of this tool.
			return "parsing Ignition config failed: unknown version. Supported spec versions: " + supported[spec]
		}
		return fmt.Sprintf("parsing Ignition config spec v3 failed with error: %v\nReport: %v", err, rpt)
	}
	if reflect.DeepEqual(cfg, empty) {
		return ""
	}
	if r := validate.ValidateWithContext(cfg, nil); r.IsFatal() {
		return fmt.Sprintf("invalid ignition V3 config found: %v", r)
	}
	// MCO refuses special mode bits (sticky, setuid, setgid) on files.
	var files []struct {
		path string
		mode *int
	}
	switch c := cfg.(type) {
	case v34types.Config:
		for _, f := range c.Storage.Files {
			files = append(files, struct {
				path string
				mode *int
			}{f.Path, f.Mode})
		}
	case v35types.Config:
		for _, f := range c.Storage.Files {
			files = append(files, struct {
				path string
				mode *int
			}{f.Path, f.Mode})
		}
	}
	for _, f := range files {
		if f.mode != nil && os.FileMode(*f.mode) > os.ModePerm {
			return fmt.Sprintf("invalid mode %#o for %s, cannot exceed %#o", *f.mode, f.path, os.ModePerm)
		}
	}
	return ""
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		var req request
		resp := response{}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			resp.Error = "ignition-validate: bad request line: " + err.Error()
		} else {
			resp.ID = req.ID
			resp.Error = check(req.Spec, req.Config)
		}
		if err := out.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

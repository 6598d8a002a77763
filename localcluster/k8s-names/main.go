// k8s-names: Kubernetes' own name and label rules (k8s.io/apimachinery pkg/api/validate/content,
// the functions the API server's ObjectMeta and label validation call) for the tests that judge
// what the collection accepts and renders (issue 21). A test harness tool, never shipped in the
// collection.
//
// Input on stdin, one JSON object a line: {"rule": "...", "value": "..."} with rule one of
// dns1123_label (IsDNS1123Label: namespaces, label-sized names), dns1123_subdomain
// (IsDNS1123Subdomain: most object names), label_key (IsLabelKey), label_value (IsLabelValue),
// path_segment (IsPathSegmentName: RBAC object names).
// Output on stdout, one JSON object a line in the same order: {"errors": [...]}, empty when the
// value is valid.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

type request struct {
	Rule  string `json:"rule"`
	Value string `json:"value"`
}

type response struct {
	Errors []string `json:"errors"`
}

var rules = map[string]func(string) []string{
	"dns1123_label":     content.IsDNS1123Label,
	"dns1123_subdomain": content.IsDNS1123Subdomain,
	"label_key":         content.IsLabelKey,
	"label_value":       content.IsLabelValue,
	"path_segment":      content.IsPathSegmentName,
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "k8s-names: bad input line:", err)
			os.Exit(2)
		}
		rule, ok := rules[req.Rule]
		if !ok {
			fmt.Fprintln(os.Stderr, "k8s-names: unknown rule", req.Rule)
			os.Exit(2)
		}
		errs := rule(req.Value)
		if errs == nil {
			errs = []string{}
		}
		if err := out.Encode(response{Errors: errs}); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-names:", err)
		os.Exit(1)
	}
}

// dbtopo-argocd-health evaluates Argo CD health checks with Argo CD's own code, built from the
// pinned github.com/argoproj/argo-cd/v3 module (test/gitops/build-argocd.sh builds it next to the
// argocd binary). It reads an argocd-cm ConfigMap the way `argocd admin settings` does (Argo CD's
// SettingsManager over that one ConfigMap), so the keys
// resource.customizations.health.<group>_<kind> and resource.customizations.useOpenLibs.<group>_<kind>
// are parsed by Argo CD, and each object's health comes from gitops-engine's
// health.GetResourceHealth with lua.ResourceHealthOverrides: the call the application controller
// makes. That runs the script in gopher-lua with only the base, table, package and safe os
// libraries (string and the rest only with useOpenLibs) and a 1 s deadline.
//
// Usage: dbtopo-argocd-health --argocd-cm FILE --cases DIR
//
// DIR holds <group>/<kind>/health_test.yaml files (Argo CD's resource_customizations layout);
// every case is run and reported on stdout as one JSON document; the exit code is 0 when the
// report was written, whatever the cases say (the caller asserts), and 2 on a usage or I/O error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/argoproj/gitops-engine/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

type testFile struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

type result struct {
	Group           string  `json:"group"`
	Kind            string  `json:"kind"`
	InputPath       string  `json:"inputPath"`
	OverrideKey     string  `json:"overrideKey"`
	HasScript       bool    `json:"hasScript"`
	UseOpenLibs     bool    `json:"useOpenLibs"`
	ExpectedStatus  string  `json:"expectedStatus"`
	ExpectedMessage string  `json:"expectedMessage"`
	Status          string  `json:"status"`
	Message         string  `json:"message"`
	Error           string  `json:"error,omitempty"`
	Millis          float64 `json:"millis"`
}

type report struct {
	ArgoCDVersion string   `json:"argocdVersion"`
	Overrides     []string `json:"overrides"`
	Results       []result `json:"results"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dbtopo-argocd-health: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	cmPath := flag.String("argocd-cm", "", "argocd-cm ConfigMap YAML holding resource.customizations.* keys")
	casesDir := flag.String("cases", "", "directory of <group>/<kind>/health_test.yaml")
	flag.Parse()
	if *cmPath == "" || *casesDir == "" {
		fail("usage: dbtopo-argocd-health --argocd-cm FILE --cases DIR")
	}

	data, err := os.ReadFile(*cmPath)
	if err != nil {
		fail("%v", err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(data, &cm); err != nil {
		fail("%s: %v", *cmPath, err)
	}
	if cm.Name != common.ArgoCDConfigMapName {
		fail("%s: ConfigMap is named %q, Argo CD reads %q", *cmPath, cm.Name, common.ArgoCDConfigMapName)
	}
	// The SettingsManager only sees ConfigMaps and Secrets labelled part-of: argocd, in its namespace.
	const ns = "argocd"
	cm.Namespace = ns
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels["app.kubernetes.io/part-of"] = "argocd"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: common.ArgoCDSecretName, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}},
		Data:       map[string][]byte{"server.secretkey": []byte("unused")},
	}
	mgr := settings.NewSettingsManager(context.Background(), fake.NewClientset(&cm, secret), ns)
	if err := mgr.ResyncInformers(); err != nil {
		fail("settings: %v", err)
	}
	overrides, err := mgr.GetResourceOverrides()
	if err != nil {
		fail("resource overrides of %s: %v", *cmPath, err)
	}
	healthOverrides := lua.ResourceHealthOverrides(overrides)

	rep := report{ArgoCDVersion: common.GetVersion().Version, Results: []result{}}
	for k, o := range overrides {
		if o.HealthLua != "" {
			rep.Overrides = append(rep.Overrides, k)
		}
	}
	sort.Strings(rep.Overrides)

	var testFiles []string
	err = filepath.WalkDir(*casesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "health_test.yaml" {
			testFiles = append(testFiles, p)
		}
		return nil
	})
	if err != nil {
		fail("%v", err)
	}
	sort.Strings(testFiles)

	for _, tf := range testFiles {
		dir := filepath.Dir(tf)
		kind := filepath.Base(dir)
		group := filepath.Base(filepath.Dir(dir))
		raw, err := os.ReadFile(tf)
		if err != nil {
			fail("%v", err)
		}
		var spec testFile
		if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
			fail("%s: %v", tf, err)
		}
		for _, t := range spec.Tests {
			r := result{Group: group, Kind: kind, InputPath: t.InputPath, ExpectedStatus: t.HealthStatus.Status, ExpectedMessage: t.HealthStatus.Message}
			objRaw, err := os.ReadFile(filepath.Join(dir, t.InputPath))
			if err != nil {
				fail("%v", err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(objRaw, &obj.Object); err != nil {
				fail("%s: %v", t.InputPath, err)
			}
			r.OverrideKey = lua.GetConfigMapKey(obj.GroupVersionKind())
			vm := lua.VM{ResourceOverrides: overrides}
			script, useOpenLibs, err := vm.GetHealthScript(obj)
			if err != nil {
				r.Error = err.Error()
			}
			r.HasScript, r.UseOpenLibs = script != "", useOpenLibs
			start := time.Now()
			hs, err := health.GetResourceHealth(obj, healthOverrides)
			r.Millis = float64(time.Since(start).Microseconds()) / 1000
			if err != nil {
				r.Error = err.Error()
			}
			if hs != nil {
				r.Status, r.Message = string(hs.Status), hs.Message
			}
			rep.Results = append(rep.Results, r)
		}
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fail("%v", err)
	}
}

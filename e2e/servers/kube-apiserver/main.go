// Command gitfleet-lab-apiserver runs one Kubernetes API server backed by an
// embedded etcd in a single process, so the lab can start a real cluster's
// control plane without containers. Flags before "--" configure etcd; all
// flags after it are passed to kube-apiserver unchanged.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	fs := flag.NewFlagSet("gitfleet-lab-apiserver", flag.ExitOnError)
	etcdDir := fs.String("etcd-dir", "", "data directory of the embedded etcd (required)")
	etcdClient := fs.String("etcd-client-url", "http://127.0.0.1:2379", "client URL of the embedded etcd")
	etcdPeer := fs.String("etcd-peer-url", "http://127.0.0.1:2380", "peer URL of the embedded etcd")
	_ = fs.Parse(os.Args[1:])
	if *etcdDir == "" {
		fmt.Fprintln(os.Stderr, "gitfleet-lab-apiserver: --etcd-dir is required")
		os.Exit(2)
	}

	etcd, err := startEtcd(*etcdDir, *etcdClient, *etcdPeer)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitfleet-lab-apiserver: embedded etcd: %v\n", err)
		os.Exit(1)
	}
	defer etcd.Close()

	// NewAPIServerCommand installs its own signal handler; one per process.
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append([]string{"--etcd-servers=" + *etcdClient}, fs.Args()...))
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "gitfleet-lab-apiserver: %v\n", err)
		os.Exit(1)
	}
}

func startEtcd(dir, clientURL, peerURL string) (*embed.Etcd, error) {
	client, err := url.Parse(clientURL)
	if err != nil {
		return nil, fmt.Errorf("client url: %w", err)
	}
	peer, err := url.Parse(peerURL)
	if err != nil {
		return nil, fmt.Errorf("peer url: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "lab"
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// A lab cluster holds little data; keep etcd's footprint small.
	cfg.QuotaBackendBytes = 512 * 1024 * 1024
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("not ready after 60s")
	}
}

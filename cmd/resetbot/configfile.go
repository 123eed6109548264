package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"resetbot/config"
	"resetbot/providers"
)

// reportLoad prints the problems of a config that did not load, against
// name (its path), and returns errQuiet; any other error is returned as is.
func reportLoad(name string, err error, stderr io.Writer) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "%s: %s\n", name, ce.Error())
		for _, w := range ce.Warnings {
			fmt.Fprintf(stderr, "  warning: %s\n", w)
		}
		return errQuiet
	}
	return err
}

// loadConfigFile reads and checks the config file at path.
func loadConfigFile(path string, getenv func(string) string, stderr io.Writer) (*config.Config, error) {
	if path == "" {
		fmt.Fprintln(stderr, "no config: pass --config FILE or set RESETBOT_CONFIG")
		return nil, errQuiet
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "read config: %v\n", err)
		return nil, errQuiet
	}
	cfg, err := config.Load(data, getenv, providers.Kinds())
	if err != nil {
		return nil, reportLoad(path, err, stderr)
	}
	return cfg, nil
}

func checkConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	cfg, err := loadConfigFile(*path, getenv, stdout)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok (%d people, %d accounts)\n", *path, len(cfg.PersonConfigs), len(cfg.AccountConfigs))
	return nil
}

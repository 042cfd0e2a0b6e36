package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// The binary's subcommands, as a small table in the manner of cmd/go's base.Command: each has
// a usage line, a one-line summary for the command list, its own flags and --help, and a
// Run. Without a command (or with flags only) the binary serves, as it always has.

// env is what a command may touch: main's arguments, never the process's globals.
type env struct {
	ctx            context.Context
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	Name      string
	UsageLine string // after the binary's name
	Short     string // for the command list
	Long      string // for the command's --help
	Run       func(e env, args []string) int
}

const binary = "airflow-prefect-gateway"

// commands lists the subcommands in the order the help shows them. compare and migrate go
// here when they land.
func commands() []*command {
	return []*command{
		{Name: "serve", UsageLine: "serve [flags]", Short: "serve Airflow's REST API on Prefect (the default command)",
			Long: "Serves Airflow's stable REST API (/api/v1) on a Prefect 3 server until SIGTERM or SIGINT.\n" +
				"Every flag has an environment variable and a key of the --config YAML file;\n" +
				"precedence: flag > environment > file > default.",
			Run: func(e env, args []string) int { return serve(e, args) }},
		{Name: "hash-password", UsageLine: "hash-password --username NAME [flags] < password",
			Short: "read a password on stdin, print a users-file entry with its bcrypt hash",
			Run:   func(e env, args []string) int { return hashPassword(args, e.stdin, e.stdout, e.stderr) }},
		{Name: "healthcheck", UsageLine: "healthcheck [URL]",
			Short: "exit 0 when a gateway answers GET /api/v1/version with 200 (for container health checks)",
			Long:  "URL defaults to http://127.0.0.1:8080/api/v1/version. Exits 1 when the gateway does not answer 200 within 3 s.",
			Run:   runHealthcheck},
		{Name: "version", UsageLine: "version", Short: "print the gateway's version",
			Run: func(e env, args []string) int {
				fs := flag.NewFlagSet("version", flag.ContinueOnError)
				if code, done := parseFlags(e, fs, commandByName("version"), args); done {
					return code
				}
				fmt.Fprintln(e.stdout, version)
				return 0
			}},
	}
}

func commandByName(name string) *command {
	for _, c := range commands() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// dispatch runs the command args name, serve when they name none.
func dispatch(e env, args []string) int {
	if len(args) == 0 {
		return serve(e, nil)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if args[0] == "help" && len(args) > 1 {
			if c := commandByName(args[1]); c != nil {
				printCommandHelp(e.stdout, c, nil)
				return 0
			}
			fmt.Fprintf(e.stderr, "%s help %s: unknown command\n", binary, args[1])
			return 2
		}
		printUsage(e.stdout)
		return 0
	}
	if strings.HasPrefix(args[0], "-") {
		return serve(e, args) // flags only: serve, as before there were commands
	}
	if c := commandByName(args[0]); c != nil {
		return c.Run(e, args[1:])
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", binary, args[0])
	printUsage(e.stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s serves Airflow's stable REST API (/api/v1) on a Prefect 3 server.\n\n", binary)
	fmt.Fprintf(w, "Usage:\n  %s [serve] [flags]\n  %s <command> [flags]\n\nCommands:\n", binary, binary)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", binary)
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s\n\n%s.\n", binary, c.UsageLine, upperFirst(c.Short))
	if c.Long != "" {
		fmt.Fprintf(w, "%s\n", c.Long)
	}
	if fs != nil && hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseFlags parses a command's flags. --help prints the command's help on stdout (done, 0);
// a bad flag prints the error and the help on stderr (done, 2).
func parseFlags(e env, fs *flag.FlagSet, c *command, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(e.stdout, c, fs)
		return 0, true
	}
	fmt.Fprintf(e.stderr, "%s %s: %v\n\n", binary, c.Name, err)
	printCommandHelp(e.stderr, c, fs)
	return 2, true
}

func runHealthcheck(e env, args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	if code, done := parseFlags(e, fs, commandByName("healthcheck"), args); done {
		return code
	}
	return healthcheck(fs.Args(), e.stdout)
}

// stdinOf is the process's stdin, for main.
func stdinOf() io.Reader { return os.Stdin }

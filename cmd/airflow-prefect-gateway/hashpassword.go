package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"airflow-prefect-gateway/gateway"
)

// hashPassword is `airflow-prefect-gateway hash-password --username NAME [--role ROLE] ...`:
// it reads a password from stdin and prints one users-file entry, indented to go under a
// `users:` line:
//
//	printf '%s' "$pw" | airflow-prefect-gateway hash-password --username alice --role User >> users.yaml
func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "airflow-prefect-gateway hash-password:", err)
		return 2
	}
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	var e gateway.UserEntry
	fs.StringVar(&e.Username, "username", "", "the user's name (required)")
	fs.StringVar(&e.Role, "role", "Viewer", "Viewer, User, Op or Admin")
	dags := fs.String("dags", "", "comma-separated DAG-id globs the user may see, e.g. 'etl.*,reports.daily' (default: all)")
	fs.StringVar(&e.PrefectAPIKeyEnv, "prefect-api-key-env", "", "environment variable holding the user's own Prefect API key")
	fs.StringVar(&e.PrefectAPIKeyFile, "prefect-api-key-file", "", "file holding the user's own Prefect API key")
	fs.StringVar(&e.PrefectAuthStringEnv, "prefect-auth-string-env", "", "environment variable holding the user's own Prefect auth string")
	fs.StringVar(&e.PrefectAuthStringFile, "prefect-auth-string-file", "", "file holding the user's own Prefect auth string")
	cost := fs.Int("cost", gateway.DefaultBcryptCost, "bcrypt cost")
	help := &command{Name: "hash-password", UsageLine: "hash-password --username NAME [flags] < password",
		Short: "read a password on stdin, print a users-file entry with its bcrypt hash",
		Long: "The entry is indented to go under a users: line, e.g.\n" +
			"  printf '%s' \"$PASSWORD\" | " + binary + " hash-password --username etl-team --role User >> users.yaml\n" +
			"The password is never read from the command line, where ps would show it."}
	if code, done := parseFlags(env{stdout: stdout, stderr: stderr}, fs, help, args); done {
		return code
	}
	if fs.NArg() > 0 {
		// Not repeated: a stray argument is likely the password itself.
		return fail(errors.New("unexpected argument: the password is read from stdin, never from the command line"))
	}
	if e.Username == "" {
		return fail(errors.New("--username is required"))
	}
	if *dags != "" {
		for _, p := range strings.Split(*dags, ",") {
			e.DAGs = append(e.DAGs, strings.TrimSpace(p))
		}
	}
	// Check everything but the hash before reading the password, so that a typo in a flag
	// does not cost the user typing it.
	placeholder, err := bcrypt.GenerateFromPassword([]byte("placeholder"), bcrypt.MinCost)
	if err != nil {
		return fail(err)
	}
	e.PasswordBcrypt = string(placeholder)
	if err := e.Check(); err != nil {
		return fail(err)
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(stderr, "Password (read from the terminal, shown as typed; pipe it in to hide it), then Enter:")
		}
	}
	password, err := readPassword(stdin)
	if err != nil {
		return fail(err)
	}
	hash, err := gateway.HashPassword(password, *cost)
	if err != nil {
		return fail(err)
	}
	e.PasswordBcrypt = hash
	out, err := gateway.FormatUserEntry(e)
	if err != nil {
		return fail(err)
	}
	_, _ = io.WriteString(stdout, out)
	return 0
}

// readPassword reads the first line of stdin without its newline, so that `printf '%s'` and
// `echo` give the same password.
func readPassword(r io.Reader) ([]byte, error) {
	raw, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the password from stdin: %w", err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if s == "" {
		return nil, errors.New("no password on stdin")
	}
	return []byte(s), nil
}

// Command zhengxiang runs Zhengxiang (郑享), instant delivery for Zhengzhou's
// 1-hour consumption circle: the service with its public API and web
// console (serve, and demo on the embedded default), replays of the MDRP
// benchmark instances, and benchmarks.
//
// Run "zhengxiang help" for the commands and their flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// version is the program's version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// The collector's settings when the environment sets none (GOGC,
// GOMEMLIMIT): the dispatcher keeps a city's riders and orders in memory and
// allocates at the pace of the order stream, so it collects when the heap
// has grown fivefold rather than doubled, and more often only as the heap
// nears the soft limit.
const (
	gcPercent   = 400
	memoryLimit = 8 << 30
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain(logger)
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "zhengxiang: %v\nRun '%s' for usage.\n", err, m.HelpCommand())
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		fmt.Fprintf(os.Stderr, "zhengxiang: %v\n", err)
		os.Exit(1)
	}
	if m.Serving() {
		logger.Info("serving until interrupted (Ctrl-C)", "addr", "http://"+m.Addr())
		<-ctx.Done()
		logger.Info("shutting down")
	}
	if err := m.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "zhengxiang: %v\n", err)
		os.Exit(1)
	}
}

// Main is the program: ParseFlags picks a command and its settings, Run
// carries it out, and Close stops whatever Run left serving. Tests run it
// as main does, with their own writers.
type Main struct {
	Stdout, Stderr io.Writer
	Logger         *slog.Logger

	cmd  command
	name string // the command line's command, once known

	ln     net.Listener
	server *http.Server
	served chan error
}

// command is one subcommand with its parsed flags.
type command interface {
	run(ctx context.Context, m *Main) error
}

// NewMain returns a program writing to the process's standard output and
// error and logging to logger (nil: discarded).
func NewMain(logger *slog.Logger) *Main {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Logger: logger}
}

// usageError is a command line that does not parse; main exits with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is about the command line itself.
func IsUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

const usage = `Zhengxiang (郑享) runs instant delivery for Zhengzhou's 1-hour consumption circle.

Usage:
  zhengxiang <command> [flags] [arguments]

Commands:
  demo          run the live service with its API and console on the embedded default, with simulated stores, riders and a platform
  serve         run the service: Kafka intake, dispatcher, PostgreSQL record, events out
  migrate       apply the record's migrations to PostgreSQL
  keys          create, list and revoke the public API's keys
  replay mdrp   replay Grubhub MDRP instances through the dispatcher and check them
  bench geo     measure the live rider index, beside Redis and PostGIS
  bench e2e     measure serve end to end on Kafka and PostgreSQL, beside their own limits
  version       print the version
  help          print this help; 'zhengxiang help <command>' prints a command's flags
`

// ParseFlags reads the command line (without the program name). It
// returns flag.ErrHelp after printing help that was asked for, and an
// error for which IsUsage is true when the line does not parse.
func (m *Main) ParseFlags(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return usagef("no command given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return m.help(rest)
	case "version", "-version", "--version":
		if len(rest) > 0 {
			return usagef("version: unexpected argument %q", rest[0])
		}
		m.cmd = versionCmd{}
		return nil
	}
	fs, cmd, err := m.flagSet(name, rest)
	if err != nil {
		return err
	}
	if cmd == nil {
		return usagef("unknown command %q", name)
	}
	m.name = fs.Name()
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		m.printFlags(fs)
		return err
	}
	if err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if err := cmd.setup(pos); err != nil {
		return err
	}
	m.cmd = cmd
	return nil
}

// parsed is a command whose flags are bound to a FlagSet; setup takes the
// positional arguments and checks the values.
type parsed interface {
	command
	setup(args []string) error
}

// flagSet returns the flags of the named command. A command of two words
// (keys create, replay mdrp, bench geo, bench e2e) takes its second word
// from rest.
func (m *Main) flagSet(name string, rest []string) (*flag.FlagSet, parsed, error) {
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	var fs *flag.FlagSet
	var cmd parsed
	switch name {
	case "demo":
		fs = flag.NewFlagSet("demo", flag.ContinueOnError)
		cmd = newDemoCmd(fs)
	case "serve":
		fs = flag.NewFlagSet("serve", flag.ContinueOnError)
		cmd = newServeCmd(fs)
	case "migrate":
		fs = flag.NewFlagSet("migrate", flag.ContinueOnError)
		cmd = newMigrateCmd(fs)
	case "keys":
		switch sub {
		case "create", "list", "revoke":
			fs = flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
			cmd = newKeysCmd(fs, sub)
		default:
			return nil, nil, usagef("keys: want 'keys create', 'keys list' or 'keys revoke', got %q", sub)
		}
	case "replay":
		if sub != "mdrp" {
			return nil, nil, usagef("replay: want 'replay mdrp', the only benchmark replayed, got %q", sub)
		}
		fs = flag.NewFlagSet("replay mdrp", flag.ContinueOnError)
		cmd = newReplayCmd(fs)
	case "bench":
		switch sub {
		case "geo":
			fs = flag.NewFlagSet("bench geo", flag.ContinueOnError)
			cmd = newBenchGeoCmd(fs)
		case "e2e":
			fs = flag.NewFlagSet("bench e2e", flag.ContinueOnError)
			cmd = newBenchE2ECmd(fs)
		default:
			return nil, nil, usagef("bench: want 'bench geo' or 'bench e2e', got %q", sub)
		}
	default:
		return nil, nil, nil
	}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, cmd, nil
}

// parseInterspersed parses flags anywhere among the arguments, as in
// "replay mdrp DIR --json", and returns the positional ones. A lone "--"
// ends the flags. The first word of a two-word command is dropped.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if strings.Contains(fs.Name(), " ") && len(args) > 0 {
		args = args[1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (m *Main) help(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stdout, usage)
		return flag.ErrHelp
	}
	name := args[0]
	if name == "version" {
		fmt.Fprintln(m.Stdout, "Usage: zhengxiang version\n\nPrints the version of the program.")
		return flag.ErrHelp
	}
	fs, cmd, err := m.flagSet(name, args[1:])
	if err != nil {
		return err
	}
	if cmd == nil {
		return usagef("help: unknown command %q", name)
	}
	m.printFlags(fs)
	return flag.ErrHelp
}

// synopses are the usage lines of the commands with flags.
var synopses = map[string]string{
	"demo": `Usage: zhengxiang demo [flags]

Runs the live service on the embedded default (no Kafka or PostgreSQL): the
festival's stores, simulated riders on a clock 30 times faster, and a
simulated platform ordering through the REST API. It prints the web console's
address, the tracking link of a sample order and an API key per role, and
serves gRPC (--grpc-addr) and REST with the console (--http-addr) until
interrupted. With --simulate-day it simulates a whole festival day instead,
and with --simulate-week the festival's week (--days of it) with the
free-delivery quota, lockers and drop points and the campaign switched on;
it prints what the consumers got and, unless --headless, serves /healthz
and /summary.`,
	"serve": `Usage: zhengxiang serve [--kafka BROKERS] [--pg URL] [flags]

Runs the service until interrupted: orders from orders.placed and riders'
positions from riders.locations (bad messages go to orders.deadletter with
the reason), the dispatcher, and every change of an order recorded in
PostgreSQL and relayed to orders.events through the outbox. With neither
flag it runs the embedded default: the in-memory store and the in-process
stream. --fleet adds simulated riders and stores that work the orders.`,
	"migrate": `Usage: zhengxiang migrate [--pg URL]

Applies the record's numbered migrations to the database, under an advisory
lock so that several processes may run it at once. serve applies them too.`,
	"keys create": `Usage: zhengxiang keys create --role ROLE [--platform P] [--store S]... [--rider R] [flags]

Makes an API key of the public API for a principal: a platform (--platform),
a merchant (one --store or more), a rider (--rider), an operator (--platform,
or none for the city's) or the bureau. Prints the key once, alone on a line;
only its hash is kept, in PostgreSQL with --pg (or ` + EnvPGURL + `), else in
the key file.`,
	"keys list": `Usage: zhengxiang keys list [--pg URL | --file FILE]

Lists the API keys: id, role, scope, name, rate limit, when created and when
revoked. Never a key or its hash.`,
	"keys revoke": `Usage: zhengxiang keys revoke [--pg URL | --file FILE] ID

Revokes the API key with the id (or the key itself). Running servers refuse
it once their cache of keys has expired, within 30 s.`,
	"replay mdrp": `Usage: zhengxiang replay mdrp [flags] INSTANCE_DIR...

Replays Grubhub Meal Delivery Routing Problem instances online through the
dispatcher, checks every solution against the rules of the problem and
measures it. A folder holding instance folders stands for all of them.
Exits non-zero when a solution breaks a rule.`,
	"bench geo": `Usage: zhengxiang bench geo [flags]

Measures the live rider index: position updates per second, nearest-10
queries per second and their recall against a brute-force search. With
--baseline redis or postgis it times the same riders, pings and queries
(nearest 10 within 3 km, from one client) on Redis GEO or a PostGIS table
with a GiST index, side by side with the index.`,
	"bench e2e": `Usage: zhengxiang bench e2e [--kafka BROKERS] [--pg URL] [flags]

Runs serve in this process on topics and a schema of its own, with a
simulated fleet, places orders on orders.placed and the fleet's pings on
riders.locations as fast as Kafka takes them, and reads orders.events with
kcat to time each order from placement to its first persisted offer. It
reports orders offered per second, the offer latency's p50 and p99, pings
per second into the rider index, and lost and duplicated orders; beside
them Kafka's ProducerPerformance and a PostgreSQL COPY on the same broker
and database, and the ratios.`,
}

func (m *Main) printFlags(fs *flag.FlagSet) {
	fmt.Fprintf(m.Stdout, "%s\n\nFlags:\n", synopses[fs.Name()])
	fs.SetOutput(m.Stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// HelpCommand returns the help command that explains the command line
// ParseFlags last read, like "zhengxiang help demo".
func (m *Main) HelpCommand() string {
	if m.name == "" {
		return "zhengxiang help"
	}
	return "zhengxiang help " + m.name
}

// Run carries out the parsed command. A command that serves (demo without
// --headless) leaves its listener running; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	if m.cmd == nil {
		return fmt.Errorf("run: no command parsed")
	}
	return m.cmd.run(ctx, m)
}

// Serving reports whether Run left a server running.
func (m *Main) Serving() bool { return m.server != nil }

// Addr returns the address the server listens on, or "" when none.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// serve starts an HTTP server with h on addr.
func (m *Main) serve(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	m.ln = ln
	m.server = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	return nil
}

// Close stops the server, if any, letting requests in flight finish.
func (m *Main) Close() error {
	if m.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.server.Shutdown(ctx)
	if serr := <-m.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	m.server, m.ln = nil, nil
	return err
}

type versionCmd struct{}

func (versionCmd) run(_ context.Context, m *Main) error {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	_, err := fmt.Fprintf(m.Stdout, "zhengxiang %s (%s)\n", v, goVersion())
	return err
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown Go"
}

// Command go-host embeds foxplug in a Go program the way go-musicfox could: it starts
// `foxplug serve --stdio` as a child process and speaks newline-delimited JSON-RPC 2.0 with it
// (docs/serve.md). It searches, asks for lyrics and a song URL, runs a plugin's menu action that
// calls fox.player.pause() — which arrives here as a `player.pause` request it answers — prints
// the engine's notifications, and exits cleanly by closing the engine's stdin.
//
// Standard library only; builds with Go 1.19:
//
//	go build -o go-host . && ./go-host -foxplug /path/to/.venv/bin/foxplug -query twinkle
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// message is any JSON-RPC 2.0 message: a request, a notification or a response.
type message struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   *rpcError        `json:"error,omitempty"`
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// engine is the connection to one `foxplug serve --stdio` child.
type engine struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan message
	player  *player
	done    chan struct{}
}

func start(foxplug string, args ...string) (*engine, error) {
	cmd := exec.Command(foxplug, append(args, "serve", "--stdio")...)
	cmd.Stderr = os.Stderr // the engine's logs; stdout carries the protocol only
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &engine{cmd: cmd, stdin: stdin, waiting: map[int]chan message{}, player: &player{state: "stopped", volume: 80}, done: make(chan struct{})}
	go e.read(stdout)
	return e, nil
}

// read consumes every line the engine writes: answers go to their callers, requests are served
// on their own goroutine (so a slow one never stops the reading), notifications are printed.
func (e *engine) read(stdout io.Reader) {
	defer close(e.done)
	lines := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := lines.ReadBytes('\n')
		if len(line) > 0 {
			var m message
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				fmt.Fprintf(os.Stderr, "not JSON-RPC from the engine: %q\n", line)
			} else {
				e.dispatch(m)
			}
		}
		if err != nil {
			return
		}
	}
}

func (e *engine) dispatch(m message) {
	switch {
	case m.Method == "" && m.ID != nil: // a response to one of our requests
		var id int
		_ = json.Unmarshal(*m.ID, &id)
		e.mu.Lock()
		ch := e.waiting[id]
		delete(e.waiting, id)
		e.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case m.ID != nil: // the engine asks the player: player.pause, player.state, ...
		go e.answer(*m.ID, m.Method, m.Params)
	case m.Method == "notify":
		var n struct{ Plugin, Text, Level string }
		_ = json.Unmarshal(m.Params, &n)
		fmt.Printf("notify [%s] %s: %s\n", n.Plugin, n.Level, n.Text)
	case m.Method == "event":
		var ev struct{ Name string }
		_ = json.Unmarshal(m.Params, &ev)
		fmt.Printf("event %s\n", ev.Name)
	}
}

func (e *engine) send(m message) error {
	m.JSONRPC = "2.0"
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	_, err = e.stdin.Write(append(data, '\n'))
	return err
}

// call sends a request with named params and waits for its answer.
func (e *engine) call(method string, params interface{}, result interface{}) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.nextID++
	id := e.nextID
	ch := make(chan message, 1)
	e.waiting[id] = ch
	e.mu.Unlock()
	idJSON := json.RawMessage(fmt.Sprint(id))
	if err := e.send(message{ID: &idJSON, Method: method, Params: raw}); err != nil {
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return m.Error
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(m.Result, result)
	case <-e.done:
		return errors.New("the engine exited")
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no answer to %s within 30 s", method)
	}
}

// player is the state this host reports; a real player would drive its audio backend here.
type player struct {
	mu      sync.Mutex
	state   string
	volume  int
	current json.RawMessage
}

func (e *engine) answer(id json.RawMessage, method string, params json.RawMessage) {
	fmt.Printf("player request %s\n", method)
	p := e.player
	p.mu.Lock()
	var result interface{}
	var failure *rpcError
	switch method {
	case "player.state":
		result = p.state
	case "player.position":
		result = 0
	case "player.volume":
		result = p.volume
	case "player.current":
		result = p.current
	case "player.play":
		var args struct{ Song json.RawMessage }
		_ = json.Unmarshal(params, &args)
		if args.Song != nil {
			p.current = args.Song
		}
		p.state = "playing"
	case "player.pause":
		if p.state == "playing" {
			p.state = "paused"
		}
	case "player.resume":
		if p.state == "paused" {
			p.state = "playing"
		}
	case "player.stop":
		p.state = "stopped"
	case "player.set_volume":
		var args struct{ Volume int }
		_ = json.Unmarshal(params, &args)
		p.volume = args.Volume
	case "player.seek", "player.next", "player.previous":
	default:
		failure = &rpcError{Code: -32601, Message: "this player has no method " + method}
	}
	p.mu.Unlock()
	if failure != nil {
		_ = e.send(message{ID: &id, Error: failure})
		return
	}
	raw, _ := json.Marshal(result)
	_ = e.send(message{ID: &id, Result: raw})
}

// close ends the engine the way the protocol says: close its stdin and wait for it to exit.
func (e *engine) close() error {
	_ = e.stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- e.cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		return errors.New("the engine did not exit within 10 s of its stdin closing")
	}
}

type song struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Source  string `json:"source"`
	Artists []struct {
		Name string `json:"name"`
	} `json:"artists"`
}

func run(foxplug, config, query string) error {
	var args []string
	if config != "" {
		args = append(args, "--config", config)
	}
	e, err := start(foxplug, args...)
	if err != nil {
		return fmt.Errorf("starting %s: %w", foxplug, err)
	}
	var hello struct {
		ProtocolVersion int    `json:"protocol_version"`
		EngineVersion   string `json:"engine_version"`
		Plugins         []struct{ ID string }
	}
	err = e.call("initialize", map[string]interface{}{
		"protocol_versions": []int{1},
		"player":            map[string]string{"name": "go-host", "version": "1.0"},
		"capabilities":      map[string]bool{"player": true},
	}, &hello)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	fmt.Printf("engine %s, protocol %d, %d plugins\n", hello.EngineVersion, hello.ProtocolVersion, len(hello.Plugins))

	var found struct {
		Items  []json.RawMessage `json:"items"`
		Errors map[string]string `json:"errors"`
	}
	if err := e.call("search", map[string]interface{}{"query": query, "limit": 5}, &found); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	fmt.Printf("search %q: %d results\n", query, len(found.Items))
	if len(found.Items) == 0 {
		return errors.New("nothing found")
	}
	var first song
	_ = json.Unmarshal(found.Items[0], &first)
	fmt.Printf("first: %s (%s)\n", first.Title, first.Source)

	var lyrics *struct {
		Plain  string `json:"plain"`
		Source string `json:"source"`
	}
	if err := e.call("lyrics", map[string]interface{}{"song": found.Items[0]}, &lyrics); err != nil {
		return fmt.Errorf("lyrics: %w", err)
	}
	if lyrics != nil {
		fmt.Printf("lyrics from %s: %s\n", lyrics.Source, strings.SplitN(lyrics.Plain, "\n", 2)[0])
	} else {
		fmt.Println("lyrics: none")
	}

	var url *struct {
		URL    string `json:"url"`
		Source string `json:"source"`
	}
	if err := e.call("song_url", map[string]interface{}{"song": found.Items[0]}, &url); err != nil {
		return fmt.Errorf("song_url: %w", err)
	}
	if url == nil {
		return errors.New("song_url: no plugin has a URL for it")
	}
	fmt.Printf("url from %s: %s\n", url.Source, url.URL)

	// Play it (here: remember it), tell the plugins, then let a plugin pause us through fox.player.pause().
	e.player.mu.Lock()
	e.player.state, e.player.current = "playing", found.Items[0]
	e.player.mu.Unlock()
	if err := e.call("emit", map[string]interface{}{"event": "song_changed", "payload": found.Items[0]}, nil); err != nil {
		return fmt.Errorf("emit: %w", err)
	}
	var menus []struct{ Plugin, ID, Label string }
	if err := e.call("ui.menus", map[string]interface{}{"ctx": map[string]interface{}{}}, &menus); err != nil {
		return fmt.Errorf("ui.menus: %w", err)
	}
	for _, m := range menus {
		if m.ID == "pause" {
			var outcome struct{ State string }
			if err := e.call("ui.action", map[string]interface{}{"plugin": m.Plugin, "id": m.ID}, &outcome); err != nil {
				return fmt.Errorf("ui.action: %w", err)
			}
			fmt.Printf("after %s's %q: %s\n", m.Plugin, m.Label, outcome.State)
		}
	}

	var failed *rpcError
	if err := e.call("call", map[string]interface{}{"plugin": "no-such-plugin", "method": "x"}, nil); errors.As(err, &failed) {
		var data struct{ Type string }
		_ = json.Unmarshal(failed.Data, &data)
		fmt.Printf("expected error: %s\n", data.Type)
	}
	if err := e.close(); err != nil {
		return err
	}
	fmt.Println("engine exited cleanly")
	return nil
}

func main() {
	foxplug := flag.String("foxplug", "foxplug", "the foxplug command")
	config := flag.String("config", "", "engine configuration (default: foxplug's own)")
	query := flag.String("query", "twinkle", "what to search for")
	flag.Parse()
	if err := run(*foxplug, *config, *query); err != nil {
		fmt.Fprintln(os.Stderr, "go-host:", err)
		os.Exit(1)
	}
}

package translate

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Task logs are the Prefect log lines of a try's task run (DESIGN §3), read page by page in
// timestamp order and written as Airflow's default log format writes a record:
// "[<time>] {<logger>} <LEVEL> - <message>" (Airflow has file:line where Prefect has the
// logger's name).

// AppendLogLine appends one log line and its newline.
func AppendLogLine(dst []byte, l wire.Log) []byte {
	dst = append(dst, '[')
	if l.Timestamp != nil {
		// Airflow's TimezoneAware formatter: 2022-06-12T13:00:00.123+0000.
		dst = l.Timestamp.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000-0700")
	}
	dst = append(dst, "] {"...)
	dst = append(dst, l.Name...)
	dst = append(dst, "} "...)
	dst = append(dst, LogLevelName(l.Level)...)
	dst = append(dst, " - "...)
	dst = append(dst, l.Message...)
	return append(dst, '\n')
}

// LogLevelName is Python's logging.getLevelName.
func LogLevelName(level wire.LogLevel) string {
	switch level {
	case 50:
		return "CRITICAL"
	case 40:
		return "ERROR"
	case 30:
		return "WARNING"
	case 20:
		return "INFO"
	case 10:
		return "DEBUG"
	case 0:
		return "NOTSET"
	}
	return "Level " + strconv.Itoa(int(level))
}

// LogPosition is where a log read goes on: the timestamp of the last line given and how many
// lines with exactly that timestamp were given (Prefect orders by timestamp only; lines
// that share one are told apart by their place in its answer), within the try's window.
// It travels as the continuation token.
type LogPosition struct {
	TaskRunID string     `json:"r"`
	Try       int        `json:"t"`
	After     *time.Time `json:"a,omitempty"`
	AtAfter   int        `json:"n,omitempty"`
	// Until ends the try's window (the next try's start), exclusive; nil: open.
	Until *time.Time `json:"u,omitempty"`
	// Full marks a download of the whole log (full_content), kept on by later tokens, as
	// Airflow's download_logs flag is.
	Full bool `json:"f,omitempty"`
}

// StartPosition is the position before the first line of try, in task run taskRunID, whose
// window is w (start nil: from the beginning).
func StartPosition(taskRunID string, try int, w TryWindow) LogPosition {
	p := LogPosition{TaskRunID: taskRunID, Try: try, Until: w.End}
	if w.Start != nil {
		s := *w.Start
		p.After = &s
	}
	return p
}

// Advance moves the position past the lines of a page (in Prefect's order).
func (p LogPosition) Advance(page []wire.Log) LogPosition {
	for _, l := range page {
		if l.Timestamp == nil {
			continue
		}
		if p.After != nil && l.Timestamp.Equal(*p.After) {
			p.AtAfter++
			continue
		}
		t := *l.Timestamp
		p.After, p.AtAfter = &t, 1
	}
	return p
}

// Query is the /logs/filter body for the next page of limit lines.
func (p LogPosition) Query(limit int) wire.LogQuery {
	f := &wire.LogFilter{TaskRunID: &wire.NullableAnyOf{Any: []string{p.TaskRunID}}}
	if p.After != nil || p.Until != nil {
		f.Timestamp = &wire.TimeRange{After: p.After}
		if p.Until != nil {
			before := p.Until.Add(-time.Microsecond) // Prefect's before_ is inclusive
			f.Timestamp.Before = &before
		}
	}
	return wire.LogQuery{Logs: f, Sort: "TIMESTAMP_ASC", Limit: &limit, Offset: p.AtAfter}
}

// Token encodes the position as a continuation token: base64url JSON and a checksum, so that
// a token the gateway did not make is refused (the position says nothing secret; a tampered
// one could only move within the same try's log).
func (p LogPosition) Token() string {
	raw, _ := json.Marshal(p)
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + hex.EncodeToString(sum[:6])
}

// ErrBadToken is Airflow's answer to a token it did not make.
var ErrBadToken = &InputError{Title: "Bad Signature. Please use only the tokens provided by the API."}

// ParseLogToken reads a continuation token made by Token.
func ParseLogToken(tok string) (LogPosition, error) {
	body, sum, ok := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil {
		return LogPosition{}, ErrBadToken
	}
	want := sha256.Sum256(raw)
	if hex.EncodeToString(want[:6]) != sum {
		return LogPosition{}, ErrBadToken
	}
	var p LogPosition
	if err := json.Unmarshal(raw, &p); err != nil || p.TaskRunID == "" || p.AtAfter < 0 {
		return LogPosition{}, ErrBadToken
	}
	return p, nil
}

// LogWindow is the span of try k (0-based) of a task run whose tries are ws: from its start
// (the first try from the beginning) to the next try's start.
func LogWindow(ws []TryWindow, k int) TryWindow {
	var w TryWindow
	if k > 0 && k < len(ws) {
		w.Start = ws[k].Start
	}
	if k+1 < len(ws) {
		w.End = ws[k+1].Start
	}
	return w
}

// LogContentHead and LogContentTail frame Airflow's JSON log content, the repr of a list of
// one (host, text) tuple, around the text escaped by AppendPyStrBody with quote '\”. A
// page's text is known whole and takes repr's own quote (LogContent); a streamed one keeps
// the single quote throughout, which Python reads back the same.
func LogContentHead(host string) string {
	return "[(" + string(AppendPyStr(nil, host, PyQuote(host))) + ", '"
}

// LogContentTail closes LogContentHead.
const LogContentTail = "')]"

// LogContent is the JSON content of a whole page, exactly as Airflow writes it.
func LogContent(host, text string) string {
	b := []byte("[(")
	b = AppendPyStr(b, host, PyQuote(host))
	b = append(b, ", "...)
	b = AppendPyStr(b, text, PyQuote(text))
	return string(append(b, ")]"...))
}

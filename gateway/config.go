package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Configuration, plugins and providers (issue 15), /api/v1. No Prefect call.
//
// GET /config and /config/section/{s}/option/{o} answer Airflow's own 403 unless the
// gateway's expose_config setting (Airflow's [webserver] expose_config) is True or
// non-sensitive-only; then they show the gateway's own settings, in Airflow's section/option
// shape, as text/plain or JSON as Airflow serves them. Secrets (the Prefect API key and auth
// string) are always "< hidden >", whatever the setting: the gateway's credentials never reach
// an answer. Plugins and providers are empty: the gateway loads no Airflow plugin and no
// provider package runs behind it.

// ConfigOption is one setting the gateway shows in GET /config.
type ConfigOption struct {
	Section, Key, Value string
	// Sensitive values are shown as "< hidden >".
	Sensitive bool
}

const (
	configNotExposed = "Your Airflow administrator chose not to expose the configuration, most likely for security reasons."
	configHidden     = "< hidden >"
)

func (s *Server) registerConfigRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/config", s.getConfig, RoleOp)
	s.route(g, http.MethodGet, "/config/section/:section/option/:option", s.getConfigValue, RoleOp)
	s.route(g, http.MethodGet, "/plugins", s.getPlugins, RoleOp)
	s.route(g, http.MethodGet, "/providers", s.getProviders, RoleOp)
}

func (s *Server) configExposed() bool {
	switch strings.ToLower(strings.TrimSpace(s.opts.ExposeConfig)) {
	case "true", "non-sensitive-only":
		return true
	}
	return false
}

// configSections is the configuration as ordered sections.
func (s *Server) configSections() [][]ConfigOption {
	var out [][]ConfigOption
	at := map[string]int{}
	for _, o := range s.opts.Config {
		if o.Sensitive {
			o.Value = configHidden
		}
		i, ok := at[o.Section]
		if !ok {
			i = len(out)
			at[o.Section] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], o)
	}
	return out
}

func (s *Server) writeConfig(c echo.Context, sections [][]ConfigOption, mime string) error {
	if mime == mimeTextPlain {
		parts := make([]string, len(sections))
		for i, sec := range sections {
			var b strings.Builder
			b.WriteString("[" + sec[0].Section + "]\n")
			for j, o := range sec {
				if j > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(o.Key + " = " + o.Value)
			}
			b.WriteByte('\n')
			parts[i] = b.String()
		}
		return c.Blob(http.StatusOK, mimeTextPlain, []byte(strings.Join(parts, "\n")))
	}
	list := make([]any, len(sections))
	for i, sec := range sections {
		opts := make([]any, len(sec))
		for j, o := range sec {
			opts[j] = translate.PyObject{{Key: "key", Value: o.Key}, {Key: "value", Value: o.Value}}
		}
		list[i] = translate.PyObject{{Key: "name", Value: sec[0].Section}, {Key: "options", Value: opts}}
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(translate.PyJSONIndent(translate.PyObject{{Key: "sections", Value: list}}, 4)))
}

func (s *Server) getConfig(c echo.Context) error {
	mime, ok := negotiate(c.Request().Header.Get(echo.HeaderAccept), mimeTextPlain, echo.MIMEApplicationJSON)
	if !ok {
		return c.NoContent(http.StatusNotAcceptable) // Airflow's own: an empty 406
	}
	if !s.configExposed() {
		return NewProblem(http.StatusForbidden, "", configNotExposed)
	}
	sections := s.configSections()
	if want := c.QueryParam("section"); want != "" {
		var only [][]ConfigOption
		for _, sec := range sections {
			if sec[0].Section == want {
				only = append(only, sec)
			}
		}
		if only == nil {
			return NotFound("section not found.", "section=%s not found.", want)
		}
		sections = only
	}
	return s.writeConfig(c, sections, mime)
}

func (s *Server) getConfigValue(c echo.Context) error {
	mime, ok := negotiate(c.Request().Header.Get(echo.HeaderAccept), mimeTextPlain, echo.MIMEApplicationJSON)
	if !ok {
		return c.NoContent(http.StatusNotAcceptable)
	}
	if !s.configExposed() {
		return NewProblem(http.StatusForbidden, "", configNotExposed)
	}
	section, option := decodedPathParam(c, "section"), decodedPathParam(c, "option")
	for _, sec := range s.configSections() {
		for _, o := range sec {
			// Airflow's options are case-insensitive (configparser).
			if strings.EqualFold(o.Section, section) && strings.EqualFold(o.Key, option) {
				o.Section, o.Key = section, option
				return s.writeConfig(c, [][]ConfigOption{{o}}, mime)
			}
		}
	}
	return NotFound("Config not found.", "The option [%s/%s] is not found in config.", section, option)
}

func (s *Server) getPlugins(c echo.Context) error {
	q := c.QueryParams()
	if _, err := translate.ParsePage(q.Get("limit"), q.Get("offset"), s.opts.MaxPageLimit); err != nil {
		return BadRequest("%s", err)
	}
	return c.JSON(http.StatusOK, struct {
		Plugins      []any `json:"plugins"`
		TotalEntries int   `json:"total_entries"`
	}{Plugins: []any{}})
}

func (s *Server) getProviders(c echo.Context) error {
	return c.JSON(http.StatusOK, struct {
		Providers    []any `json:"providers"`
		TotalEntries int   `json:"total_entries"`
	}{Providers: []any{}})
}

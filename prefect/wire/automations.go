package wire

import "time"

// Automation is the part of Prefect's Automation the gateway reads: deployment triggers are
// automations whose event trigger starts a run-deployment action.
type Automation struct {
	ID      string             `json:"id"`
	Created *time.Time         `json:"created"`
	Updated *time.Time         `json:"updated"`
	Name    string             `json:"name"`
	Enabled bool               `json:"enabled"`
	Trigger AutomationTrigger  `json:"trigger"`
	Actions []AutomationAction `json:"actions"`
}

// AutomationTrigger is an event trigger (match, expect) or a compound or sequence trigger
// (triggers).
type AutomationTrigger struct {
	Type     string              `json:"type"`
	Match    map[string]any      `json:"match"` // label → a match expression or a list of them
	Expect   []string            `json:"expect"`
	Triggers []AutomationTrigger `json:"triggers"`
}

// AutomationAction is one action of an automation.
type AutomationAction struct {
	Type         string  `json:"type"`
	Source       string  `json:"source"`
	DeploymentID *string `json:"deployment_id"`
}

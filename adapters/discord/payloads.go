package discord

import (
	"encoding/json"
	"errors"
	"strings"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

// decode reads an interaction as Discord sends it. discordgo fails on any
// component type it does not know, and it knows no Label (type 18), in
// which Discord's current modals hold their inputs: a submitted form is
// read here, walking its components whatever their types, and discordgo
// reads the rest.
func decode(body []byte) (*discordgo.Interaction, error) {
	var head struct {
		Type discordgo.InteractionType `json:"type"`
		Data json.RawMessage           `json:"data"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, err
	}
	var form *modalSubmit
	if head.Type == discordgo.InteractionModalSubmit && len(head.Data) > 0 {
		f, err := readForm(head.Data)
		if err != nil {
			return nil, err
		}
		form = &f
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		m["data"] = json.RawMessage(`{}`)
		if body, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		return nil, err
	}
	if form != nil {
		i.Data = *form
	}
	return &i, nil
}

// modalSubmit is a submitted form: its custom_id, and the value of each
// text input by custom_id, wherever it sat (an Action Row, a Label).
type modalSubmit struct {
	CustomID string
	Values   map[string]string
}

func (modalSubmit) Type() discordgo.InteractionType { return discordgo.InteractionModalSubmit }

// component is any component of a submitted form: the fields that matter
// here, whatever its type.
type component struct {
	Type       int             `json:"type"`
	CustomID   string          `json:"custom_id"`
	Value      json.RawMessage `json:"value"`
	Components []component     `json:"components"` // an Action Row's, or a container's
	Component  *component      `json:"component"`  // a Label's
}

func readForm(raw json.RawMessage) (modalSubmit, error) {
	var data struct {
		CustomID   string      `json:"custom_id"`
		Components []component `json:"components"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return modalSubmit{}, err
	}
	f := modalSubmit{CustomID: data.CustomID, Values: map[string]string{}}
	var walk func(cs []component, depth int)
	walk = func(cs []component, depth int) {
		if depth > 8 {
			return
		}
		for _, c := range cs {
			var v string
			if c.CustomID != "" && json.Unmarshal(c.Value, &v) == nil {
				if _, dup := f.Values[c.CustomID]; !dup {
					f.Values[c.CustomID] = v
				}
			}
			walk(c.Components, depth+1)
			if c.Component != nil {
				walk([]component{*c.Component}, depth+1)
			}
		}
	}
	walk(data.Components, 0)
	return f, nil
}

// formOf is a form submitted over the Gateway, which discordgo read: its
// text inputs in Action Rows.
func formOf(data discordgo.ModalSubmitInteractionData) modalSubmit {
	f := modalSubmit{CustomID: data.CustomID, Values: map[string]string{}}
	var walk func([]discordgo.MessageComponent)
	walk = func(cs []discordgo.MessageComponent) {
		for _, c := range cs {
			switch c := c.(type) {
			case *discordgo.ActionsRow:
				walk(c.Components)
			case *discordgo.TextInput:
				if _, dup := f.Values[c.CustomID]; !dup {
					f.Values[c.CustomID] = c.Value
				}
			}
		}
	}
	walk(data.Components)
	return f
}

// commandOf turns /reset-password's subcommand and options into the text
// grammar and parses it, so that both platforms share one set of checks.
// Each option is checked as the grammar checks its word: an option that
// would read as more words (white space, as bot.IsSpace has it, inside an
// account name or a user's) is refused, never split into another request.
func commandOf(data discordgo.ApplicationCommandInteractionData) (bot.Command, error) {
	if len(data.Options) != 1 || data.Options[0] == nil || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return bot.Command{}, bot.Errorf(bot.EINVALID, "pick one of /reset-password's subcommands: ask, list, status, cancel, reveal, approve, deny, break-glass, confirm, reject, help")
	}
	sub := data.Options[0]
	opt := func(name string) (string, error) {
		for _, o := range sub.Options {
			if o != nil && o.Name == name {
				s, ok := o.Value.(string)
				if !ok {
					return "", bot.Errorf(bot.EINVALID, "option %s must be text", name)
				}
				return strings.TrimFunc(s, bot.IsSpace), nil
			}
		}
		return "", nil
	}
	word := func(name string) (string, error) { // one word: the text grammar splits on white space
		s, err := opt(name)
		if err == nil && strings.ContainsFunc(s, bot.IsSpace) {
			err = bot.Errorf(bot.EINVALID, "option %s must be one word, without spaces: %q", name, clip(s, 40))
		}
		return s, err
	}
	text := func(name string) (string, error) { // a person's words, shown to others
		s, err := opt(name)
		if err == nil {
			err = bot.CheckText(name, s)
		}
		return s, err
	}
	var line string
	var kind bot.Kind
	switch sub.Name {
	case "ask":
		account, err1 := word("account")
		users, err2 := userList(opt)
		reason, err3 := text("reason")
		if err := errors.Join(err1, err2, err3); err != nil {
			return bot.Command{}, firstBotError(err)
		}
		if account == "" {
			return bot.Command{}, bot.Errorf(bot.EINVALID, "name the account: /reset-password ask account:<account> reason:<why>")
		}
		line, kind = account, bot.KindAsk
		if users != "" {
			line += ":" + users
		}
		line += " " + reason
	case "break-glass":
		account, err1 := word("account")
		users, err2 := userList(opt)
		incident, err3 := opt("incident")
		reason, err4 := text("reason")
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return bot.Command{}, firstBotError(err)
		}
		if account == "" {
			return bot.Command{}, bot.Errorf(bot.EINVALID, "name the account: /reset-password break-glass account:<account> incident:<INC-123> reason:<why>")
		}
		// Checked here, before it becomes a word of the text grammar: an
		// incident with a space in it must be refused, not read as the
		// start of the reason.
		if _, err := bot.ParseIncident(incident); err != nil {
			return bot.Command{}, err
		}
		line, kind = "break-glass "+account, bot.KindBreakGlass
		if users != "" {
			line += ":" + users
		}
		line += " " + incident + " " + reason
	case "list", "help":
		line, kind = sub.Name, bot.Kind(sub.Name)
	case "status", "cancel", "reveal", "approve", "deny", "confirm", "reject":
		id, err := word("id")
		if err != nil {
			return bot.Command{}, err
		}
		line, kind = sub.Name+" "+id, bot.Kind(sub.Name)
		if sub.Name == "deny" || sub.Name == "reject" {
			reason, err := text("reason")
			if err != nil {
				return bot.Command{}, err
			}
			line += " " + reason
		}
	default:
		return bot.Command{}, bot.Errorf(bot.EINVALID, "resetbot has no subcommand %q: /reset-password help lists them", clip(sub.Name, 40))
	}
	return parseAs(kind, line)
}

// userList reads the users option: names separated by commas, white space
// allowed around them and nowhere else.
func userList(opt func(string) (string, error)) (string, error) {
	s, err := opt("users")
	if err != nil || s == "" {
		return "", err
	}
	names := strings.Split(s, ",")
	for k, n := range names {
		n = strings.TrimFunc(n, bot.IsSpace)
		switch {
		case n == "":
			return "", bot.Errorf(bot.EINVALID, "option users has an empty name between commas: %q. Write users:a,b", clip(s, 60))
		case strings.ContainsFunc(n, bot.IsSpace):
			return "", bot.Errorf(bot.EINVALID, "option users must be names separated by commas, with no space inside a name: %q. Write users:a,b", clip(n, 40))
		}
		names[k] = n
	}
	return strings.Join(names, ","), nil
}

// parseAs parses text and insists that it is a command of kind: an account
// named "list" must not turn an ask into a list.
func parseAs(kind bot.Kind, text string) (bot.Command, error) {
	cmd, err := bot.Parse(text)
	if err != nil {
		return bot.Command{}, err
	}
	if cmd.Kind != kind {
		if kind == bot.KindAsk {
			return bot.Command{}, bot.Errorf(bot.EINVALID, "not an account: %q. /reset-password list shows the accounts you may ask for", clip(bot.Fields(text)[0], 40))
		}
		return bot.Command{}, bot.Errorf(bot.EINVALID, "that is not a %s command: /reset-password help shows how to write it", kind)
	}
	return cmd, nil
}

func firstBotError(err error) error {
	var e *bot.Error
	if errors.As(err, &e) {
		return e
	}
	return err
}

// splitCustomID reads a button's or form's custom_id, "verb:R-XXXXXX".
func splitCustomID(s string) (verb, id string, err error) {
	verb, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", errors.New("no request ID")
	}
	id, err = bot.ParseID(rest)
	return verb, id, err
}

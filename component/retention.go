package component

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

// An admin may give one room a retention of its own (room-retention, chat
// "retention ROOM DAYS MESSAGES"): each bound given replaces the
// transport's history_days or history_messages in that room. It is stored,
// and the pruner applies it at once and on every round after.

const (
	maxRetentionDays     = 100000 // as history_days
	maxRetentionMessages = 1000000000
	// retentionInherit, or an empty value, leaves a bound to the
	// transport's.
	retentionInherit = "-"
)

func retentionForm(u *user) *form {
	return &form{typ: "form", title: "Room history retention",
		instructions: "Keep one room's history for another time than the gateway's. Empty (or -) leaves a bound to the gateway's; 0 lifts it.",
		fields: []formField{
			{Field: bridges.Field{Var: "room", Label: "Room", Type: bridges.TextSingle,
				Desc: "its address, e.g. #chan%irc.example.net@" + u.t.domain}, required: true},
			{Field: bridges.Field{Var: "days", Label: "Days kept", Type: bridges.TextSingle,
				Desc: "messages older than this go; 0: any age"}},
			{Field: bridges.Field{Var: "messages", Label: "Messages kept", Type: bridges.TextSingle,
				Desc: "all but the room's newest this many go; 0: any number"}},
		}}
}

// setRoomRetention stores the retention an admin gave a room and wakes
// the pruner; a bad value is refused with nothing stored.
func setRoomRetention(u *user, v map[string]string) (outcome, error) {
	local, err := u.t.retentionRoom(v["room"])
	if err != nil {
		return outcome{}, err
	}
	r := registry.RoomRetention{Room: local}
	if r.Days, err = retentionBound("Days kept", v["days"], maxRetentionDays); err != nil {
		return outcome{}, err
	}
	if r.Messages, err = retentionBound("Messages kept", v["messages"], maxRetentionMessages); err != nil {
		return outcome{}, err
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	if err := u.t.store.SetRoomRetention(ctx, u.t.domain, r); err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not store the room's retention", Cause: err}
	}
	u.t.log.Info("admin set a room's history retention", "admin", u.jid, "room", local, "days", v["days"], "messages", v["messages"])
	u.t.archive.pruneSoon()
	if r.Days == nil && r.Messages == nil {
		return outcome{note: local + " keeps its history as the gateway does again: " + roomRetentionText(r, u.t.archive.keep) + "."}, nil
	}
	return outcome{note: local + " keeps " + roomRetentionText(r, u.t.archive.keep) + "."}, nil
}

// retentionRoom reads the room a retention is for: its JID or its local
// part.
func (t *Transport) retentionRoom(v string) (string, error) {
	local := strings.TrimSpace(v)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		if !strings.EqualFold(local[at+1:], t.domain) {
			return "", bridges.Errorf(bridges.NotAcceptable, "%s is not a room of %s", local, t.domain)
		}
		local = local[:at]
	}
	if !t.isRoom(local) {
		return "", bridges.Errorf(bridges.NotAcceptable, "%q is not a room of %s: give its address, e.g. #chan%%irc.example.net@%s", v, t.domain, t.domain)
	}
	return local, nil
}

// retentionBound reads one bound: nil leaves it to the transport.
func retentionBound(label, v string, most int) (*int, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == retentionInherit {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > most {
		return nil, bridges.Errorf(bridges.NotAcceptable, "%s must be a whole number from 0 (no bound) to %d, or empty for the gateway's setting; %q is not", label, most, v)
	}
	return &n, nil
}

// roomRetentionText says what a room keeps and whose each bound is.
func roomRetentionText(r registry.RoomRetention, transport registry.Retention) string {
	whose := func(p *int) string {
		if p != nil {
			return "its own"
		}
		return "the gateway's"
	}
	keep := r.Over(transport)
	days := "any age"
	if keep.Days > 0 {
		days = fmt.Sprintf("%d days", keep.Days)
	}
	messages := "any number of messages"
	if keep.Messages > 0 {
		messages = fmt.Sprintf("at most %d messages", keep.Messages)
	}
	return fmt.Sprintf("%s (%s), %s (%s)", days, whose(r.Days), messages, whose(r.Messages))
}

// roomRetentionsText lists the rooms given a retention of their own, for
// history-size.
func (u *user) roomRetentionsText(ctx context.Context) (string, error) {
	rooms, err := u.t.store.RoomRetentions(ctx, u.t.domain)
	if err != nil || len(rooms) == 0 {
		return "", err
	}
	lines := []string{fmt.Sprintf("Rooms with a retention of their own (%d):", len(rooms))}
	for _, r := range rooms {
		lines = append(lines, r.Room+": "+roomRetentionText(r, u.t.archive.keep))
	}
	return "\n" + strings.Join(lines, "\n"), nil
}

package approvals

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// msgUnavailable is what people see when Redis cannot be reached.
const msgUnavailable = "the bot's state store (Redis) is unreachable; try again in a minute"

// msgNotReplicated is what people see when Redis took a change but no
// replica confirmed it (see replicas.go): a failover may be under way.
const msgNotReplicated = "the bot's state store (Redis) did not confirm that your change was kept " +
	"(it may be switching to its replica); check with `status`, then try again"

// fail wraps a Redis error with what was being done. Faults of the connection
// or of the server's availability become an EUNAVAILABLE *bot.Error, with the
// cause still in the chain for the log; anything else (a script bug, a wrong
// reply) stays internal.
func fail(op string, err error) error {
	if _, ok := errors.AsType[*errNotReplicated](err); ok {
		return fmt.Errorf("%s: %w: %w", op,
			&bot.Error{Code: bot.EUNAVAILABLE, Message: msgNotReplicated, Retryable: true}, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op,
			&bot.Error{Code: bot.EUNAVAILABLE, Message: msgUnavailable, Retryable: true}, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err means Redis could not serve the call, as
// opposed to Redis answering that the call was wrong.
func unavailable(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		// network errors, timeouts, a full pool, a closed client, ctx
		return true
	}
	msg := rerr.Error()
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "MISCONF"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

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

// fail wraps a Redis error with what was being done. Faults of the connection
// or of the server's availability become an EUNAVAILABLE *bot.Error, with the
// cause still in the chain for the log; anything else (a script bug, a wrong
// reply) stays internal.
func fail(op string, err error) error {
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

package bot

import "io"

// What only the tests of package bot_test need to see.

const (
	IDAlphabet = idAlphabet
	MaxUsers   = maxUsers
)

// NewID makes a request ID from rnd, as the service does.
func NewID(rnd io.Reader) (string, error) { return makeID(rnd) }

// VoteOf returns the vote of a person, if any.
func (r Request) VoteOf(person string) (Vote, bool) { return r.voteOf(person) }

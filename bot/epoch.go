package bot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// upkeep is what the service keeps between sweeps about the store itself.
type upkeep struct {
	checking sync.Mutex // one epoch check at a time, so that none undoes a newer one

	mu     sync.Mutex
	epoch  string    // the store's epoch as last seen; "" before the first look
	lostAt time.Time // when this process last found the store's data lost; zero: never
	// lookedAt is when a request not found last made this process look at
	// the epoch (vanished): at most once a second.
	lookedAt time.Time
	unsaid   *EpochCheck // a loss found and not yet said
	// owed are the channels whose notice of a loss the chat API refused:
	// each sweep tries them again until they take it.
	owed     []owedNotice
	consumer string    // this process's name in the execution queue (RunExecutor)
	tidied   time.Time // when the queue's consumers were last tidied
}

// owedNotice is a notice of the store's loss a channel has not taken yet.
type owedNotice struct {
	platform Platform
	channel  string
	text     string
}

// tidyEvery is how often, at most, the sweeper removes the queue's consumers
// that hold nothing.
const tidyEvery = 5 * time.Minute

// Ready reports whether the service may take traffic: the store answers,
// and no loss of the store's data went unsaid. A loss found here is said
// by the next sweep (RunSweeper); until then Ready fails with EUNAVAILABLE.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.checkEpoch(ctx); err != nil {
		return err
	}
	s.upkeep.mu.Lock()
	unsaid := s.upkeep.unsaid != nil
	s.upkeep.mu.Unlock()
	if unsaid {
		return Errorf(EUNAVAILABLE, "the bot's store lost its data, and the bot has not said so yet")
	}
	return nil
}

// checkEpoch compares the store's epoch with the one this process last saw,
// and keeps a loss to say (sayLoss).
func (s *Service) checkEpoch(ctx context.Context) error {
	s.upkeep.checking.Lock()
	defer s.upkeep.checking.Unlock()
	s.upkeep.mu.Lock()
	expected := s.upkeep.epoch
	s.upkeep.mu.Unlock()
	id, err := s.epochID()
	if err != nil {
		return err
	}
	c, err := s.store.Epoch(ctx, expected, Epoch{ID: id, Since: s.clock.Now()})
	if err != nil {
		return fmt.Errorf("check the store's epoch: %w", err)
	}
	s.upkeep.mu.Lock()
	defer s.upkeep.mu.Unlock()
	s.upkeep.epoch = c.Epoch.ID
	if c.Lost {
		s.upkeep.lostAt = c.Epoch.Since
		if u := s.upkeep.unsaid; u != nil && u.Announce {
			c.Announce = true // an earlier loss this process is to announce, still unsaid
		}
		s.upkeep.unsaid = &c
	}
	return nil
}

func (s *Service) epochID() (string, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("make an epoch: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// watchStore checks the store's epoch and says a loss found, here or by
// Ready: in the log, to DataLost, and, by the one replica the store picked,
// in every channel cards go to.
func (s *Service) watchStore(ctx context.Context) {
	if err := s.checkEpoch(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("check the store's epoch", "err", err)
		}
	}
	s.upkeep.mu.Lock()
	c, owed := s.upkeep.unsaid, s.upkeep.owed
	s.upkeep.owed = nil
	s.upkeep.mu.Unlock()
	if c != nil {
		s.log.Error("the store lost its data: Redis came back empty, so every request asked before then is gone",
			"noticed", c.Epoch.Since.UTC().Format(time.RFC3339), "epoch", c.Epoch.ID)
		if s.dataLost != nil {
			s.dataLost()
		}
		if c.Announce {
			text := fmt.Sprintf("resetbot's store (Redis) lost its data (noticed at %s): every request asked before then is gone, "+
				"and its buttons no longer work. Whoever still needs a reset: ask again.", timeOfDay(c.Epoch.Since))
			for _, pl := range s.platforms {
				for _, ch := range s.cardChannels(pl) {
					owed = append(owed, owedNotice{platform: pl, channel: ch, text: text})
				}
			}
		}
	}
	// The notice goes to every channel, each tried again by later sweeps
	// while its chat API refuses it: the one replica the store picked to
	// say it is the only one that will.
	var still []owedNotice
	for _, n := range owed {
		if err := s.notifiers[n.platform].Announce(ctx, n.channel, n.text); err != nil {
			s.log.Error("announce the store's loss; trying again at the next sweep", "platform", n.platform, "channel", n.channel, "err", err)
			still = append(still, n)
		}
	}
	s.upkeep.mu.Lock()
	if c != nil && s.upkeep.unsaid == c {
		s.upkeep.unsaid = nil // said: in the log, the metric, and tried in every channel
	}
	s.upkeep.owed = append(s.upkeep.owed, still...)
	s.upkeep.mu.Unlock()
}

// cardChannels are the channels cards go to on pl: "" (the platform's
// approvals channel) and each account's own.
func (s *Service) cardChannels(pl Platform) []string {
	out := []string{""}
	for _, a := range s.accounts {
		if ch := a.Channels[pl]; ch != "" && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	slices.Sort(out[1:])
	return out
}

// vanished rewords "there is no request R-…" when the store's data was
// lost: the request may well have existed. A process that has not found a
// loss yet (its sweeps and readiness checks come every few seconds) looks
// at the store's epoch first, at most once a second (IDs typed wrong are
// not found too): the click may be the first to meet it.
func (s *Service) vanished(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != ENOTFOUND || e.ID == "" {
		return err
	}
	s.upkeep.mu.Lock()
	now := s.clock.Now()
	lost, look := s.upkeep.lostAt, now.Sub(s.upkeep.lookedAt) >= time.Second
	if lost.IsZero() && look {
		s.upkeep.lookedAt = now
	}
	s.upkeep.mu.Unlock()
	if lost.IsZero() && look {
		if cerr := s.checkEpoch(ctx); cerr != nil {
			s.log.Error("check the store's epoch for a request not found", "request", e.ID, "err", cerr)
		}
		s.upkeep.mu.Lock()
		lost = s.upkeep.lostAt
		s.upkeep.mu.Unlock()
	}
	if lost.IsZero() {
		return err
	}
	return &Error{Code: ENOTFOUND, ID: e.ID, Message: fmt.Sprintf("%s is not in the bot's store: the store (Redis) lost its data "+
		"(noticed at %s), and every request asked before then is gone; ask again", e.ID, timeOfDay(lost))}
}

// tidyQueue removes the execution queue's consumers that hold nothing,
// other than this process's, at most every tidyEvery: each process that
// ever ran left its name there.
func (s *Service) tidyQueue(ctx context.Context) {
	now := s.clock.Now()
	s.upkeep.mu.Lock()
	me, last := s.upkeep.consumer, s.upkeep.tidied
	if me == "" || (!last.IsZero() && now.Sub(last) < tidyEvery) {
		s.upkeep.mu.Unlock()
		return
	}
	s.upkeep.tidied = now
	s.upkeep.mu.Unlock()
	n, err := s.store.TidyConsumers(ctx, me)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("remove the queue's idle consumers", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("removed the queue's consumers that held nothing", "removed", n)
	}
}

// setConsumer records this process's name in the queue, for tidyQueue.
func (s *Service) setConsumer(name string) {
	s.upkeep.mu.Lock()
	defer s.upkeep.mu.Unlock()
	s.upkeep.consumer = name
}

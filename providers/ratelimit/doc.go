// Package ratelimit keeps the bot under each cloud API's documented rate (20
// calls a second per action and credential) across every replica that shares
// one Redis.
//
// The shared limit is a GCRA in one Lua script: the key holds the theoretical
// arrival time (TAT) of the next call, in microseconds of the Redis server's
// clock, so replicas with skewed clocks still agree. A caller reserves the
// slot at max(TAT, now), moves TAT one interval (1s/rate) past it, and
// sleeps until its slot. With a burst of one, calls are spaced at least one
// interval apart, so no second holds more than rate calls; the interval is
// 2% longer than 1s/rate so that network jitter does not push the rate+1st
// call into an API's one-second window. A slot whose
// caller gives up is lost, which errs on the side of fewer calls.
//
// In front of Redis sits an in-process golang.org/x/time/rate limiter per
// key at the same rate, so that one busy process asks Redis at most once per
// interval per key instead of hammering it.
//
// Keys are built with Key from the API action and a hash of the credential
// ID; the secret itself never reaches Redis. Redis keys are
// {<prefix>}ratelimit:<key>, in the bot's hash slot (see New), and expire a
// second after their TAT.
package ratelimit

package main

import (
	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

func cloudProviders(cfg *Config, rdb redis.UniversalClient) (map[string]bot.Provider, error) {
	return map[string]bot.Provider{}, nil
}

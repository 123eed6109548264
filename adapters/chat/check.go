package chat

// ChannelProblem is why the bot cannot post approval cards in one channel,
// as its platform answered when asked (check-config --online, and the log
// at start).
type ChannelProblem struct {
	Channel string
	Problem string // "the bot is not a member of it", "no such channel"
}

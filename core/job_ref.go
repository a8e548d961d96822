package gue

// JobRef names one job: its queue and ID.
type JobRef struct {
	Queue string `json:"queue"`
	ID    int64  `json:"id"`
}

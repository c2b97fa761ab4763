package h1server

// SetBGReadHook sets the hook run as a background read starts; nil removes it.
func SetBGReadHook(f func()) { testHookBGRead = f }

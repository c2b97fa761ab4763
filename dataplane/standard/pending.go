package standard

func (in *Installer) installPools() {}

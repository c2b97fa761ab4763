package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// spdxDoc is the part of SPDX 2.3 JSON the SBOM uses.
type spdxDoc struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string         `json:"name"`
	SPDXID           string         `json:"SPDXID"`
	VersionInfo      string         `json:"versionInfo,omitempty"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	LicenseConcluded string         `json:"licenseConcluded"`
	LicenseDeclared  string         `json:"licenseDeclared"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
	Comment          string         `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SBOM is an SPDX 2.3 JSON document of the binary at bin: the module it was built from, the Go
// standard library it links, and every module dependency with its version and go.sum hash, read
// from the build information the Go linker embeds (what `go version -m` prints).
func SBOM(bin, arch string, o Options) ([]byte, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	mainID := "SPDXRef-Package-dataplane"
	doc := spdxDoc{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              "dataplane-" + o.Version + "-linux-" + arch,
		DocumentNamespace: o.Source + "/spdx/dataplane/" + o.Version + "/linux-" + arch + "/" + hex.EncodeToString(sum[:8]),
		CreationInfo:      spdxCreation{Created: o.Created.UTC().Format(time.RFC3339), Creators: []string{"Tool: gwctl-hack-image", "Organization: infergw"}},
	}
	doc.Packages = append(doc.Packages, spdxPackage{
		Name: bi.Main.Path, SPDXID: mainID, VersionInfo: o.Version, DownloadLocation: o.Source,
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "Apache-2.0",
		Checksums:    []spdxChecksum{{Algorithm: "SHA256", Value: hex.EncodeToString(sum[:])}},
		ExternalRefs: []spdxRef{purl(bi.Main.Path, o.Version)},
		Comment:      "the binary " + BinaryPath + " (linux/" + arch + ")",
	}, spdxPackage{
		Name: "go", SPDXID: "SPDXRef-Package-go-stdlib", VersionInfo: strings.TrimPrefix(bi.GoVersion, "go"),
		DownloadLocation: "https://go.dev/dl/", LicenseConcluded: "NOASSERTION", LicenseDeclared: "BSD-3-Clause",
		ExternalRefs: []spdxRef{purl("stdlib", strings.TrimPrefix(bi.GoVersion, "go"))},
	})
	doc.Relationships = append(doc.Relationships,
		spdxRelation{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: mainID},
		spdxRelation{Element: mainID, Type: "DEPENDS_ON", Related: "SPDXRef-Package-go-stdlib"})
	for i, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		id := "SPDXRef-Package-" + itoa(i)
		p := spdxPackage{
			Name: m.Path, SPDXID: id, VersionInfo: m.Version, DownloadLocation: "NOASSERTION",
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION",
			ExternalRefs: []spdxRef{purl(m.Path, m.Version)},
		}
		if m.Sum != "" {
			p.Comment = "go.sum " + m.Sum
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelation{Element: mainID, Type: "DEPENDS_ON", Related: id})
	}
	return json.MarshalIndent(doc, "", "  ")
}

func purl(path, version string) spdxRef {
	return spdxRef{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + path + "@" + version}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

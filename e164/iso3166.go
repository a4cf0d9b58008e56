package e164

import "strings"

// iso3166 lists every ISO 3166-1 code as "alpha2 alpha3" pairs. libphonenumber carries
// only alpha-2 region codes and Voxbone's API wants alpha-3 (countryCodeA3), hence this
// table. XK/XKX (Kosovo) is not in ISO 3166-1 but is the user-assigned code both
// libphonenumber and most carriers use, so it is included.
const iso3166 = `
AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AO AGO AQ ATA AR ARG AS ASM AT AUT
AU AUS AW ABW AX ALA AZ AZE BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI
BJ BEN BL BLM BM BMU BN BRN BO BOL BQ BES BR BRA BS BHS BT BTN BV BVT BW BWA BY BLR
BZ BLZ CA CAN CC CCK CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM CMR CN CHN
CO COL CR CRI CU CUB CV CPV CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA
DO DOM DZ DZA EC ECU EE EST EG EGY EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK
FM FSM FO FRO FR FRA GA GAB GB GBR GD GRD GE GEO GF GUF GG GGY GH GHA GI GIB GL GRL
GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS GT GTM GU GUM GW GNB GY GUY HK HKG HM HMD
HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR IM IMN IN IND IO IOT IQ IRQ IR IRN
IS ISL IT ITA JE JEY JM JAM JO JOR JP JPN KE KEN KG KGZ KH KHM KI KIR KM COM KN KNA
KP PRK KR KOR KW KWT KY CYM KZ KAZ LA LAO LB LBN LC LCA LI LIE LK LKA LR LBR LS LSO
LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME MNE MF MAF MG MDG MH MHL MK MKD
ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV MW MWI
MX MEX MY MYS MZ MOZ NA NAM NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL
NR NRU NU NIU NZ NZL OM OMN PA PAN PE PER PF PYF PG PNG PH PHL PK PAK PL POL PM SPM
PN PCN PR PRI PS PSE PT PRT PW PLW PY PRY QA QAT RE REU RO ROU RS SRB RU RUS RW RWA
SA SAU SB SLB SC SYC SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK SVK SL SLE SM SMR
SN SEN SO SOM SR SUR SS SSD ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF
TG TGO TH THA TJ TJK TK TKL TL TLS TM TKM TN TUN TO TON TR TUR TT TTO TV TUV TW TWN
TZ TZA UA UKR UG UGA UM UMI US USA UY URY UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR
VN VNM VU VUT WF WLF WS WSM YE YEM YT MYT ZA ZAF ZM ZMB ZW ZWE XK XKX
`

// INumRegion is libphonenumber's region code for non-geographic numbers, and the alpha-2
// side of Voxbone's iNum "country" WLD (+883).
const INumRegion = "001"

// INumAlpha3 is Voxbone's countryCodeA3 for iNum numbers ("world").
const INumAlpha3 = "WLD"

var alpha2to3, alpha3to2 = func() (map[string]string, map[string]string) {
	f := strings.Fields(iso3166)
	a23 := make(map[string]string, len(f)/2+1)
	a32 := make(map[string]string, len(f)/2+1)
	for i := 0; i+1 < len(f); i += 2 {
		a23[f[i]] = f[i+1]
		a32[f[i+1]] = f[i]
	}
	a23[INumRegion] = INumAlpha3
	a32[INumAlpha3] = INumRegion
	return a23, a32
}()

// Alpha3 returns the ISO 3166-1 alpha-3 code of an alpha-2 code, in any case ("us" ->
// "USA"); "001" gives Voxbone's "WLD".
func Alpha3(alpha2 string) (string, bool) {
	a3, ok := alpha2to3[strings.ToUpper(alpha2)]
	return a3, ok
}

// Alpha2 returns the ISO 3166-1 alpha-2 code of an alpha-3 code, in any case ("usa" ->
// "US"); Voxbone's "WLD" gives "001".
func Alpha2(alpha3 string) (string, bool) {
	a2, ok := alpha3to2[strings.ToUpper(alpha3)]
	return a2, ok
}

// Alpha2Codes returns every alpha-2 code Alpha3 knows, "001" included, in no order.
func Alpha2Codes() []string {
	out := make([]string, 0, len(alpha2to3))
	for a2 := range alpha2to3 {
		out = append(out, a2)
	}
	return out
}

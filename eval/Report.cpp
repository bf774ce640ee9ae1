// The output files of `satsal evaluate` (eval/Evaluate.hpp): CSVs, scores, summary.json,
// gnuplot figures and report.md. No LibTorch here.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "eval/Evaluate.hpp"
#include "eval/Scores.hpp"
#include "io/AtomicFile.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;

std::string num(double v, int digits = 4) {
    if (!std::isfinite(v)) return "nan";
    char b[40];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

std::string pm(const MeanSpread& m, int digits = 3) { return num(m.mean, digits) + " ± " + num(m.std, digits); }

// Layer level per statistic and seed: kappa, rho per tap and the random z's of that seed.
struct LayerTable {
    std::vector<std::string> statistics;                          // config order
    std::vector<int> taps;
    std::vector<std::uint64_t> seeds;
    std::map<std::tuple<std::string, int, std::string, std::uint64_t>, LayerRecord> records;
    bool has(const std::string& s, int tap, const std::string& mode, std::uint64_t seed) const {
        return records.count({s, tap, mode, seed}) > 0;
    }
    double acc(const std::string& s, int tap, const std::string& mode, std::uint64_t seed) const {
        return records.at({s, tap, mode, seed}).accuracy;
    }
};

LayerTable layer_table(const EvalOptions& o, const EvalResult& r) {
    LayerTable t;
    t.statistics = o.statistics;
    t.taps = o.tap_values;
    t.seeds = o.seed_values;
    for (const auto& rec : r.layer) t.records[{rec.statistic, rec.tap, rec.mode, rec.seed}] = rec;
    return t;
}

struct LayerScore {
    std::string statistic;
    MeanSpread difference, information;
    std::vector<MeanSpread> per_tap;  // (zr - rho) + (kappa - zk) per tap
    bool complete = false;
};

std::vector<LayerScore> layer_scores(const LayerTable& t) {
    std::vector<LayerScore> out;
    for (const auto& s : t.statistics) {
        LayerScore score{s, {}, {}, {}, true};
        std::vector<double> d, info;
        std::vector<std::vector<double>> per_tap(t.taps.size());
        for (const auto seed : t.seeds) {
            std::vector<double> zr, rho, kappa, zk;
            for (const int tap : t.taps) {
                for (const char* mode : {"kar", "roar"})
                    for (const char* stat : {s.c_str(), "random"})
                        if (!t.has(stat, tap, mode, seed)) score.complete = false;
                if (!score.complete) break;
                zr.push_back(t.acc("random", tap, "roar", seed));
                rho.push_back(t.acc(s, tap, "roar", seed));
                kappa.push_back(t.acc(s, tap, "kar", seed));
                zk.push_back(t.acc("random", tap, "kar", seed));
            }
            if (!score.complete) break;
            d.push_back(difference_score(zr, rho, kappa, zk));
            info.push_back(information_score(zr, rho, kappa, zk));
            for (std::size_t k = 0; k < t.taps.size(); ++k) per_tap[k].push_back((zr[k] - rho[k]) + (kappa[k] - zk[k]));
        }
        if (!score.complete) continue;
        score.difference = mean_spread(d);
        score.information = mean_spread(info);
        for (const auto& v : per_tap) score.per_tap.push_back(mean_spread(v));
        out.push_back(score);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const LayerScore& a, const LayerScore& b) { return a.difference.mean > b.difference.mean; });
    return out;
}

struct ImageScore {
    std::string method;
    MeanSpread kar, roar, total;
    std::map<std::pair<std::string, int>, MeanSpread> accuracy;  // (mode, threshold)
};

std::vector<ImageScore> image_scores(const EvalOptions& o, const EvalResult& r) {
    std::vector<ImageScore> out;
    for (const auto& method : o.methods) {
        ImageScore score;
        score.method = method;
        std::vector<double> kar_sums, roar_sums, totals;
        bool complete = true;
        for (const auto seed : o.seed_values) {
            std::vector<double> kar, roar;
            for (const int t : o.threshold_values)
                for (const char* mode : {"kar", "roar"}) {
                    auto it = std::find_if(r.image.begin(), r.image.end(), [&](const ImageRecord& x) {
                        return x.method == method && x.mode == mode && x.threshold == t && x.seed == seed;
                    });
                    if (it == r.image.end()) complete = false;
                    else (std::string(mode) == "kar" ? kar : roar).push_back(it->accuracy);
                }
            if (!complete) break;
            const KarRoarSums sums = kar_roar_sums(kar, roar);
            kar_sums.push_back(sums.kar);
            roar_sums.push_back(sums.roar);
            totals.push_back(sums.total);
        }
        if (!complete) continue;
        score.kar = mean_spread(kar_sums);
        score.roar = mean_spread(roar_sums);
        score.total = mean_spread(totals);
        for (const int t : o.threshold_values)
            for (const char* mode : {"kar", "roar"}) {
                std::vector<double> v;
                for (const auto& x : r.image)
                    if (x.method == method && x.mode == mode && x.threshold == t) v.push_back(x.accuracy);
                score.accuracy[{mode, t}] = mean_spread(v);
            }
        out.push_back(score);
    }
    std::stable_sort(out.begin(), out.end(), [](const ImageScore& a, const ImageScore& b) { return a.total.mean > b.total.mean; });
    return out;
}

struct RoadScore {
    std::string method;
    double area_accuracy = 0;  // LeRF - MoRF accuracy (higher: better)
    double area_mae = 0;       // MoRF - LeRF MAE (higher: better)
};

std::vector<RoadScore> road_scores(const EvalOptions& o, const EvalResult& r) {
    std::vector<RoadScore> out;
    std::vector<double> x;
    for (const int t : o.road_threshold_values) x.push_back(t / 100.0);
    for (const auto& method : o.methods) {
        std::map<std::string, std::vector<double>> acc, mae;
        for (const auto& rec : r.road)
            if (rec.method == method) {
                acc[rec.order].push_back(rec.accuracy);
                mae[rec.order].push_back(rec.mae);
            }
        if (acc["morf"].size() != x.size() || acc["lerf"].size() != x.size()) continue;
        RoadScore s{method, 0, 0};
        if (x.size() >= 2) {
            s.area_accuracy = area_between(x, acc["lerf"], acc["morf"]);
            s.area_mae = area_between(x, mae["morf"], mae["lerf"]);
        } else {
            s.area_accuracy = acc["lerf"][0] - acc["morf"][0];
            s.area_mae = mae["morf"][0] - mae["lerf"][0];
        }
        out.push_back(s);
    }
    std::stable_sort(out.begin(), out.end(), [](const RoadScore& a, const RoadScore& b) { return a.area_accuracy > b.area_accuracy; });
    return out;
}

void write(const fs::path& path, const std::string& text) { write_text_file(path.string(), text); }

// Runs gnuplot on `script`; returns "" or why no PNG was drawn.
std::string run_gnuplot(const fs::path& script) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
        return "gnuplot not found: install the Debian package gnuplot-nox (tools/setup.sh does) and run "
               "`gnuplot " + script.string() + "`";
    const std::string command = "cd '" + script.parent_path().string() + "' && gnuplot '" + script.filename().string() + "'";
    if (std::system(command.c_str()) != 0) return "gnuplot failed on " + script.string();
    return "";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

void write_evaluation_outputs(const EvalOptions& o, EvalResult& r, std::ostream& log) {
    const fs::path out(o.output);
    fs::create_directories(out);
    nlohmann::json summary;
    summary["base_model"] = {{"exact_accuracy", r.base_accuracy}, {"mae", r.base_mae}};
    summary["patches"] = {{"train", r.train_patches}, {"test", r.test_patches}, {"road", r.road_patches}};
    for (const auto& [phase, seconds] : r.seconds) summary["seconds"][phase] = seconds;
    std::ostringstream md;
    md << "# satsal evaluate\n\nBase model (trained " << o.base_epochs << " epochs on " << r.train_patches
       << " patches, input " << o.input_size << " px): exact-count accuracy " << num(r.base_accuracy, 3) << ", MAE "
       << num(r.base_mae, 3) << " on " << r.test_patches << " test patches. Seeds: " << config::join(o.seeds, ", ")
       << " (mean ± sample std over seeds).\n\n";
    std::vector<std::string> notes = r.notes;

    if (!r.layer.empty()) {
        std::ostringstream csv;
        csv << "statistic,tap,mode,seed,exact_accuracy,mae\n";
        for (const auto& x : r.layer)
            csv << x.statistic << ",L" << x.tap << "," << x.mode << "," << x.seed << "," << num(x.accuracy) << ","
                << num(x.mae) << "\n";
        write(out / "layer.csv", csv.str());
        const LayerTable table = layer_table(o, r);
        const std::vector<LayerScore> scores = layer_scores(table);
        std::ostringstream sc, dat;
        sc << "statistic,difference_mean,difference_std,information_mean,information_std";
        for (const int t : o.tap_values) sc << ",d_L" << t;
        sc << "\n";
        md << "## Layer level (paper Table 1 / Figure 4)\n\nKAR keeps " << num(o.layer_kar_keep * 100, 1)
           << "% of the tap locations, ROAR keeps the " << num(o.layer_roar_keep * 100, 1)
           << "% least salient; layers after the tap fine-tuned " << o.finetune_epochs
           << " epochs. D = Eq. 8, I = Eq. 9 (our reading, eval/Scores.hpp). d_Lk = (z_roar - ROAR) + (KAR - z_kar) at "
              "tap k.\n\n| statistic | D | I |";
        for (const int t : o.tap_values) md << " d_L" << t << " |";
        md << "\n|---|---|---|";
        for (std::size_t k = 0; k < o.tap_values.size(); ++k) md << "---|";
        md << "\n";
        for (const auto& s : scores) {
            sc << s.statistic << "," << num(s.difference.mean) << "," << num(s.difference.std) << ","
               << num(s.information.mean) << "," << num(s.information.std);
            md << "| " << s.statistic << " | " << pm(s.difference) << " | " << pm(s.information) << " |";
            for (const auto& p : s.per_tap) {
                sc << "," << num(p.mean);
                md << " " << num(p.mean, 3) << " |";
            }
            sc << "\n";
            md << "\n";
            summary["layer"][s.statistic] = {{"difference", s.difference.mean}, {"difference_std", s.difference.std},
                                             {"information", s.information.mean}, {"information_std", s.information.std}};
        }
        // Raw accuracies per tap (mean over seeds), like the paper's Table 4.
        md << "\nExact-count accuracy per tap (mean over seeds):\n\n| statistic |";
        for (const int t : o.tap_values) md << " KAR L" << t << " |";
        for (const int t : o.tap_values) md << " ROAR L" << t << " |";
        md << "\n|---|";
        for (std::size_t k = 0; k < 2 * o.tap_values.size(); ++k) md << "---|";
        md << "\n";
        for (const auto& s : o.statistics) {
            md << "| " << s << " |";
            for (const char* mode : {"kar", "roar"})
                for (const int t : o.tap_values) {
                    std::vector<double> v;
                    for (const auto& x : r.layer)
                        if (x.statistic == s && x.tap == t && x.mode == mode) v.push_back(x.accuracy);
                    md << " " << (v.empty() ? std::string("-") : num(mean_spread(v).mean, 3)) << " |";
                }
            md << "\n";
        }
        md << "\n![Figure 4](figure4_layers.png)\n\n";
        write(out / "layer_scores.csv", sc.str());
        // Figure 4: d per tap, one line per statistic.
        dat << "# tap";
        for (const auto& s : scores) dat << " " << quoted(s.statistic);
        dat << "\n";
        for (std::size_t k = 0; k < o.tap_values.size(); ++k) {
            dat << o.tap_values[k];
            for (const auto& s : scores) dat << " " << num(s.per_tap[k].mean);
            dat << "\n";
        }
        write(out / "figure4_layers.dat", dat.str());
        std::ostringstream gp;
        gp << "set terminal pngcairo size 900,560\nset output 'figure4_layers.png'\n"
           << "set title 'Layer level: (z_{ROAR} - ROAR) + (KAR - z_{KAR}) per tap (mean over seeds)'\n"
           << "set xlabel 'tap'\nset ylabel 'difference score (exact-count accuracy)'\nset key outside right\n"
           << "set xtics (";
        for (std::size_t k = 0; k < o.tap_values.size(); ++k) gp << (k ? ", " : "") << "'L" << o.tap_values[k] << "' " << o.tap_values[k];
        gp << ")\nset grid\nset xzeroaxis lt -1\nplot ";
        for (std::size_t i = 0; i < scores.size(); ++i)
            gp << (i ? ", " : "") << "'figure4_layers.dat' using 1:" << i + 2 << " with linespoints title "
               << quoted(scores[i].statistic);
        gp << "\n";
        write(out / "figure4_layers.gp", gp.str());
        if (!scores.empty()) {
            const std::string why = run_gnuplot(out / "figure4_layers.gp");
            if (!why.empty()) notes.push_back(why);
        }
    }

    if (!r.image.empty()) {
        std::ostringstream csv;
        csv << "method,mode,threshold,seed,exact_accuracy,mae\n";
        for (const auto& x : r.image)
            csv << x.method << "," << x.mode << "," << x.threshold << "," << x.seed << "," << num(x.accuracy) << ","
                << num(x.mae) << "\n";
        write(out / "image.csv", csv.str());
        const auto scores = image_scores(o, r);
        std::ostringstream sc;
        sc << "method,kar_sum,kar_sum_std,roar_sum,roar_sum_std,total,total_std\n";
        md << "## Image level (paper Table 2 / Figure 5)\n\nPixels ranked by each map; KAR keeps the top t%, ROAR "
              "removes it (replaced by the training set's channel means); retrained from scratch "
           << o.retrain_epochs << " epochs per seed; thresholds " << config::join(o.thresholds, ", ")
           << "%.\n\n| method | KAR sum | ROAR sum | total |\n|---|---|---|---|\n";
        for (const auto& s : scores) {
            sc << s.method << "," << num(s.kar.mean) << "," << num(s.kar.std) << "," << num(s.roar.mean) << ","
               << num(s.roar.std) << "," << num(s.total.mean) << "," << num(s.total.std) << "\n";
            md << "| " << s.method << " | " << pm(s.kar) << " | " << pm(s.roar) << " | " << pm(s.total) << " |\n";
            summary["image"][s.method] = {{"kar_sum", s.kar.mean}, {"roar_sum", s.roar.mean}, {"total", s.total.mean},
                                          {"total_std", s.total.std}};
        }
        md << "\n![Figure 5](figure5_image.png)\n\n";
        write(out / "image_scores.csv", sc.str());
        std::ostringstream dat;
        dat << "# threshold";
        for (const auto& s : scores) dat << " " << quoted(s.method + " kar") << " " << quoted(s.method + " roar");
        dat << "\n";
        for (const int t : o.threshold_values) {
            dat << t;
            for (const auto& s : scores) dat << " " << num(s.accuracy.at({"kar", t}).mean) << " " << num(s.accuracy.at({"roar", t}).mean);
            dat << "\n";
        }
        write(out / "figure5_image.dat", dat.str());
        std::ostringstream gp;
        gp << "set terminal pngcairo size 1300,620\nset output 'figure5_image.png'\nset multiplot layout 1,2\n"
           << "set grid\nset key below maxrows 3 font ',9'\nset ylabel 'exact-count accuracy'\n"
           << "set title 'KAR (keep)'\nset xlabel '% pixels kept'\nplot ";
        for (std::size_t i = 0; i < scores.size(); ++i)
            gp << (i ? ", " : "") << "'figure5_image.dat' using 1:" << 2 * i + 2 << " with linespoints title "
               << quoted(scores[i].method);
        gp << "\nset title 'ROAR (remove)'\nset xlabel '% pixels removed'\nplot ";
        for (std::size_t i = 0; i < scores.size(); ++i)
            gp << (i ? ", " : "") << "'figure5_image.dat' using 1:" << 2 * i + 3 << " with linespoints title "
               << quoted(scores[i].method);
        gp << "\nunset multiplot\n";
        write(out / "figure5_image.gp", gp.str());
        if (!scores.empty()) {
            const std::string why = run_gnuplot(out / "figure5_image.gp");
            if (!why.empty()) notes.push_back(why);
        }
    }

    if (!r.road.empty()) {
        std::ostringstream csv;
        csv << "method,order,threshold,exact_accuracy,mae\n";
        for (const auto& x : r.road)
            csv << x.method << "," << x.order << "," << x.threshold << "," << num(x.accuracy) << "," << num(x.mae) << "\n";
        write(out / "road.csv", csv.str());
        const auto scores = road_scores(o, r);
        std::ostringstream sc;
        sc << "method,area_lerf_minus_morf_accuracy,area_morf_minus_lerf_mae\n";
        md << "## ROAD (Rong et al. 2022)\n\nBase model on " << r.road_patches
           << " test patches with the most (MoRF) / least (LeRF) relevant pixels imputed (noisy linear imputation, "
              "sigma "
           << o.road_noise << "). Area between the curves over the removed fraction (higher is better).\n\n"
           << "| method | area LeRF - MoRF (accuracy) | area MoRF - LeRF (MAE) |\n|---|---|---|\n";
        for (const auto& s : scores) {
            sc << s.method << "," << num(s.area_accuracy) << "," << num(s.area_mae) << "\n";
            md << "| " << s.method << " | " << num(s.area_accuracy, 3) << " | " << num(s.area_mae, 3) << " |\n";
            summary["road"][s.method] = {{"area_accuracy", s.area_accuracy}, {"area_mae", s.area_mae}};
        }
        md << "\n![ROAD](road.png)\n\n";
        write(out / "road_scores.csv", sc.str());
        std::ostringstream dat;
        dat << "# threshold";
        for (const auto& s : scores) dat << " " << quoted(s.method + " morf") << " " << quoted(s.method + " lerf");
        dat << "\n";
        for (const int t : o.road_threshold_values) {
            dat << t;
            for (const auto& s : scores)
                for (const char* order : {"morf", "lerf"}) {
                    double v = NAN;
                    for (const auto& x : r.road)
                        if (x.method == s.method && x.order == order && x.threshold == t) v = x.accuracy;
                    dat << " " << num(v);
                }
            dat << "\n";
        }
        write(out / "road.dat", dat.str());
        std::ostringstream gp;
        gp << "set terminal pngcairo size 1300,620\nset output 'road.png'\nset multiplot layout 1,2\nset grid\n"
           << "set key below maxrows 3 font ',9'\nset ylabel 'exact-count accuracy'\nset xlabel '% pixels removed (imputed)'\n"
           << "set title 'ROAD MoRF (most relevant first)'\nplot ";
        for (std::size_t i = 0; i < scores.size(); ++i)
            gp << (i ? ", " : "") << "'road.dat' using 1:" << 2 * i + 2 << " with linespoints title " << quoted(scores[i].method);
        gp << "\nset title 'ROAD LeRF (least relevant first)'\nplot ";
        for (std::size_t i = 0; i < scores.size(); ++i)
            gp << (i ? ", " : "") << "'road.dat' using 1:" << 2 * i + 3 << " with linespoints title " << quoted(scores[i].method);
        gp << "\nunset multiplot\n";
        write(out / "road.gp", gp.str());
        if (!scores.empty()) {
            const std::string why = run_gnuplot(out / "road.gp");
            if (!why.empty()) notes.push_back(why);
        }
    }
    md << "## Timings\n\n";
    for (const auto& [phase, seconds] : r.seconds) md << "- " << phase << ": " << num(seconds, 1) << " s\n";
    if (!notes.empty()) {
        md << "\n## Notes\n\n";
        for (const auto& n : notes) {
            md << "- " << n << "\n";
            log << "[evaluate] note: " << n << "\n";
        }
    }
    summary["notes"] = notes;
    summary["config"] = eval_config_ini(o);
    write(out / "summary.json", summary.dump(2) + "\n");
    write(out / "report.md", md.str());
    // Notes are re-derived on every write.
}

}  // namespace satsal::eval

// The JSON report of a train-count run (CountingTrainer.hpp: count_train_report_json): its options,
// data sizes, timings, per-epoch history and the held-out metrics. Apart from the training loop so
// the report's format reads in one place.
#include <nlohmann/json.hpp>

#include "cowc/CountingMetrics.hpp"
#include "cowc/CountingTrainer.hpp"

namespace satsal::counting {

std::string count_train_report_json(const CountTrainOptions& o, const CountTrainResult& r) {
    using Json = nlohmann::ordered_json;
    Json options{{"list", o.list}, {"root", o.root}, {"test_list", o.test_list}, {"init_model", o.init_model},
                 {"output", o.output}, {"classes", o.classes}, {"epochs", o.epochs}, {"batch_size", o.batch_size},
                 {"learning_rate", o.learning_rate}, {"optimizer", o.optimizer}, {"momentum", o.momentum},
                 {"weight_decay", o.weight_decay}, {"warmup_fraction", o.warmup_fraction},
                 {"label_sigma", o.label_sigma}, {"seed", o.seed}, {"threads", o.threads},
                 {"holdout_fraction", o.holdout_fraction}, {"rotation_step", o.rotation_step}, {"flip", o.flip},
                 {"colour_jitter", o.colour_jitter}};
    Json history = Json::array();
    for (const CountEpochRecord& e : r.history) {
        Json epoch{{"epoch", e.epoch}, {"mean_loss", e.mean_loss}, {"train_accuracy", e.train_accuracy},
                   {"seconds", e.seconds}};
        if (e.has_holdout) {
            epoch["holdout_mae"] = e.holdout.mean_absolute_error;
            epoch["holdout_exact"] = e.holdout.exact_accuracy;
            epoch["holdout_within_one"] = e.holdout.within_one_accuracy;
        }
        history.push_back(std::move(epoch));
    }
    const Json out{{"options", std::move(options)},
                   {"train_patches", r.train_patches},
                   {"holdout_patches", r.holdout_patches},
                   {"memory_mb", r.memory_bytes / 1048576.0},
                   {"load_seconds", r.load_seconds},
                   {"start_epoch", r.start_epoch},
                   {"completed_epochs", r.completed_epochs},
                   {"finished", r.finished},
                   {"steps_run", r.steps_run},
                   {"train_seconds", r.train_seconds},
                   {"images_per_second", r.images_per_second},
                   {"history", std::move(history)},
                   {"holdout", r.has_holdout && r.finished ? counting_metrics_json(r.holdout) : Json()}};
    // Paths that are not UTF-8 are written with U+FFFD rather than refused.
    return out.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace satsal::counting

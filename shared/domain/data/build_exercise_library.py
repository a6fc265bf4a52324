#!/usr/bin/env python3
"""Builds shared/domain/data/exercises.json, the exercise library that ships with the product.

The facts (name, equipment, muscles, level, category) come from the public-domain catalogue
free-exercise-db (Unlicense), at ../shared/data/free-exercise-db/exercises.json beside the repo.
What this script adds is ours: the selection (movements a gym floor uses), the movement pattern,
the loading tags the injury rules read, impact, where a movement fits in a session, and the
scaled / beginner substitutions. The catalogue's instruction sentences are not copied.

    python3 shared/domain/data/build_exercise_library.py [path/to/exercises.json]

The output is committed; `iron-domain`'s tests check its invariants (ids unique, every
substitution resolves, every tag and pattern known, at least 150 movements).
"""
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / ".." / "shared" / "data" / "free-exercise-db" / "exercises.json"

# Source id -> movement pattern. Only these enter the library.
SELECTED = {
    # squat
    "Barbell_Full_Squat": "squat", "Barbell_Squat": "squat", "Front_Barbell_Squat": "squat",
    "Front_Squat_Clean_Grip": "squat", "Box_Squat": "squat", "Wide_Stance_Barbell_Squat": "squat",
    "Zercher_Squats": "squat", "Bodyweight_Squat": "squat", "Goblet_Squat": "squat",
    "Dumbbell_Squat": "squat", "Dumbbell_Squat_To_A_Bench": "squat", "Plie_Dumbbell_Squat": "squat",
    "Front_Squats_With_Two_Kettlebells": "squat", "Squats_-_With_Bands": "squat", "Sit_Squats": "squat",
    "Kettlebell_Pistol_Squat": "squat", "Overhead_Squat": "squat", "One-Arm_Overhead_Kettlebell_Squats": "squat",
    "Kettlebell_Thruster": "squat", "Weighted_Jump_Squat": "plyometric", "Freehand_Jump_Squat": "plyometric",
    "Single-Leg_High_Box_Squat": "squat",
    # lunge / single leg
    "Barbell_Lunge": "lunge", "Barbell_Walking_Lunge": "lunge", "Bodyweight_Walking_Lunge": "lunge",
    "Dumbbell_Lunges": "lunge", "Dumbbell_Rear_Lunge": "lunge", "Split_Squat_with_Dumbbells": "lunge",
    "Split_Squats": "lunge", "Crossover_Reverse_Lunge": "lunge", "Elevated_Back_Lunge": "lunge",
    "Dumbbell_Step_Ups": "lunge", "Barbell_Step_Ups": "lunge", "Step-up_with_Knee_Raise": "lunge",
    "Lunge_Pass_Through": "lunge", "Barbell_Side_Split_Squat": "lunge",
    # hinge
    "Barbell_Deadlift": "hinge", "Sumo_Deadlift": "hinge", "Romanian_Deadlift": "hinge",
    "Stiff-Legged_Barbell_Deadlift": "hinge", "Stiff-Legged_Dumbbell_Deadlift": "hinge", "Deficit_Deadlift": "hinge",
    "Rack_Pulls": "hinge", "Trap_Bar_Deadlift": "hinge", "Good_Morning": "hinge", "Band_Good_Morning": "hinge",
    "Band_Good_Morning_Pull_Through": "hinge", "Barbell_Hip_Thrust": "hinge", "Barbell_Glute_Bridge": "hinge",
    "Butt_Lift_Bridge": "hinge", "Hip_Lift_with_Band": "hinge", "Kettlebell_One-Legged_Deadlift": "hinge",
    "One-Arm_Kettlebell_Swings": "hinge", "Kettlebell_Dead_Clean": "hinge", "Kettlebell_Sumo_High_Pull": "hinge",
    "Natural_Glute_Ham_Raise": "hinge", "Hyperextensions_With_No_Hyperextension_Bench": "hinge",
    "Pelvic_Tilt_Into_Bridge": "hinge", "Superman": "hinge",
    # horizontal push
    "Barbell_Bench_Press_-_Medium_Grip": "push_horizontal", "Close-Grip_Barbell_Bench_Press": "push_horizontal",
    "Barbell_Incline_Bench_Press_-_Medium_Grip": "push_horizontal", "Floor_Press": "push_horizontal",
    "Dumbbell_Bench_Press": "push_horizontal", "Dumbbell_Floor_Press": "push_horizontal",
    "Incline_Dumbbell_Press": "push_horizontal", "Bench_Press_-_With_Bands": "push_horizontal",
    "Pushups": "push_horizontal", "Push-Up_Wide": "push_horizontal", "Incline_Push-Up": "push_horizontal",
    "Push-Ups_With_Feet_Elevated": "push_horizontal", "Push-Ups_-_Close_Triceps_Position": "push_horizontal",
    "Decline_Push-Up": "push_horizontal", "Clock_Push-Up": "push_horizontal", "Plyo_Push-up": "plyometric",
    "Alternating_Floor_Press": "push_horizontal", "One-Arm_Kettlebell_Floor_Press": "push_horizontal",
    "Dips_-_Triceps_Version": "push_horizontal", "Bench_Dips": "push_horizontal", "Ring_Dips": "push_horizontal",
    "Parallel_Bar_Dip": "push_horizontal", "Push_Up_to_Side_Plank": "push_horizontal",
    "Medicine_Ball_Chest_Pass": "push_horizontal",
    # vertical push
    "Standing_Military_Press": "push_vertical", "Barbell_Shoulder_Press": "push_vertical", "Push_Press": "push_vertical",
    "Dumbbell_Shoulder_Press": "push_vertical", "Standing_Dumbbell_Press": "push_vertical",
    "Arnold_Dumbbell_Press": "push_vertical", "Dumbbell_One-Arm_Shoulder_Press": "push_vertical",
    "Standing_Alternating_Dumbbell_Press": "push_vertical", "Seated_Dumbbell_Press": "push_vertical",
    "Alternating_Kettlebell_Press": "push_vertical", "One-Arm_Kettlebell_Push_Press": "push_vertical",
    "Double_Kettlebell_Push_Press": "push_vertical", "Kettlebell_Seated_Press": "push_vertical",
    "Shoulder_Press_-_With_Bands": "push_vertical", "Handstand_Push-Ups": "push_vertical",
    "Split_Jerk": "olympic", "Push_Press_-_Behind_the_Neck": "push_vertical",
    # horizontal pull
    "Bent_Over_Barbell_Row": "pull_horizontal", "Reverse_Grip_Bent-Over_Rows": "pull_horizontal",
    "Bent_Over_Two-Dumbbell_Row": "pull_horizontal", "One-Arm_Dumbbell_Row": "pull_horizontal",
    "Dumbbell_Incline_Row": "pull_horizontal", "Alternating_Kettlebell_Row": "pull_horizontal",
    "One-Arm_Kettlebell_Row": "pull_horizontal", "Alternating_Renegade_Row": "pull_horizontal",
    "Inverted_Row": "pull_horizontal", "Inverted_Row_with_Straps": "pull_horizontal",
    "Back_Flyes_-_With_Bands": "pull_horizontal", "T-Bar_Row_with_Handle": "pull_horizontal",
    "Upright_Barbell_Row": "pull_horizontal", "Upright_Row_-_With_Bands": "pull_horizontal",
    # vertical pull
    "Pullups": "pull_vertical", "Chin-Up": "pull_vertical", "Band_Assisted_Pull-Up": "pull_vertical",
    "Wide-Grip_Rear_Pull-Up": "pull_vertical", "Weighted_Pull_Ups": "pull_vertical", "Mixed_Grip_Chin": "pull_vertical",
    "Muscle_Up": "pull_vertical", "Kipping_Muscle_Up": "pull_vertical", "Rope_Climb": "pull_vertical",
    # olympic and power
    "Clean": "olympic", "Power_Clean": "olympic", "Hang_Clean": "olympic", "Clean_and_Jerk": "olympic",
    "Clean_and_Press": "olympic", "Snatch": "olympic", "Power_Snatch": "olympic", "Hang_Snatch": "olympic",
    "Muscle_Snatch": "olympic", "Clean_Pull": "olympic", "Snatch_Pull": "olympic", "Clean_Deadlift": "hinge",
    "Snatch_Balance": "olympic", "Power_Jerk": "olympic", "Dumbbell_Clean": "olympic",
    "One-Arm_Kettlebell_Clean": "olympic", "Kettlebell_Hang_Clean": "olympic", "One-Arm_Kettlebell_Snatch": "olympic",
    "One-Arm_Kettlebell_Clean_and_Jerk": "olympic", "Double_Kettlebell_Snatch": "olympic",
    # carries and strongman
    "Farmers_Walk": "carry", "Sled_Push": "carry", "Sled_Drag_-_Harness": "carry", "Yoke_Walk": "carry",
    "Tire_Flip": "hinge", "Atlas_Stones": "hinge", "Kettlebell_Turkish_Get-Up_Squat_style": "carry",
    # core
    "Plank": "core", "Dead_Bug": "core", "Crunches": "core", "Sit-Up": "core", "3_4_Sit-Up": "core",
    "Jackknife_Sit-Up": "core", "Hanging_Leg_Raise": "core", "Hanging_Pike": "core", "Flutter_Kicks": "core",
    "Scissor_Kick": "core", "Leg_Pull-In": "core", "Barbell_Ab_Rollout_-_On_Knees": "core", "Ab_Roller": "core",
    "Spider_Crawl": "core", "Bottoms_Up": "core", "Cross-Body_Crunch": "core", "Elbow_to_Knee": "core",
    # rotation
    "Russian_Twist": "rotation", "Kettlebell_Windmill": "rotation", "Kettlebell_Figure_8": "rotation",
    "Medicine_Ball_Full_Twist": "rotation", "Landmine_180s": "rotation", "Plate_Twist": "rotation",
    "Isometric_Wipers": "rotation", "Kettlebell_Pass_Between_The_Legs": "rotation",
    # plyometric
    "Box_Jump_Multiple_Response": "plyometric", "Front_Box_Jump": "plyometric", "Lateral_Box_Jump": "plyometric",
    "Knee_Tuck_Jump": "plyometric", "Split_Jump": "plyometric", "Star_Jump": "plyometric",
    "Standing_Long_Jump": "plyometric", "Lateral_Bound": "plyometric", "Hurdle_Hops": "plyometric",
    "Mountain_Climbers": "plyometric", "Frog_Hops": "plyometric", "Rocket_Jump": "plyometric",
    "Overhead_Slam": "plyometric", "One-Arm_Medicine_Ball_Slam": "plyometric", "Sledgehammer_Swings": "plyometric",
    "Fast_Skipping": "plyometric", "Scissors_Jump": "plyometric", "Battling_Ropes": "plyometric",
    # monostructural (cardio)
    "Rowing_Stationary": "monostructural", "Bicycling_Stationary": "monostructural",
    "Recumbent_Bike": "monostructural", "Running_Treadmill": "monostructural", "Jogging_Treadmill": "monostructural",
    "Rope_Jumping": "monostructural", "Stairmaster": "monostructural", "Elliptical_Trainer": "monostructural",
    "Wind_Sprints": "monostructural",
    # mobility
    "Worlds_Greatest_Stretch": "mobility", "Inchworm": "mobility", "Cat_Stretch": "mobility", "Childs_Pose": "mobility",
    "Arm_Circles": "mobility", "Shoulder_Circles": "mobility", "Hip_Circles_prone": "mobility",
    "Standing_Hip_Circles": "mobility", "Ankle_Circles": "mobility", "Knee_Circles": "mobility",
    "Wrist_Circles": "mobility", "Dynamic_Chest_Stretch": "mobility", "Dynamic_Back_Stretch": "mobility",
    "Kneeling_Hip_Flexor": "mobility", "Hamstring_Stretch": "mobility", "Seated_Floor_Hamstring_Stretch": "mobility",
    "Quad_Stretch": "mobility", "Standing_Gastrocnemius_Calf_Stretch": "mobility", "Adductor_Groin": "mobility",
    "Spinal_Stretch": "mobility", "Upper_Back_Stretch": "mobility", "Shoulder_Stretch": "mobility",
    "Triceps_Stretch": "mobility", "Overhead_Stretch": "mobility", "Runners_Stretch": "mobility",
    "IT_Band_and_Glute_Stretch": "mobility", "Side_Neck_Stretch": "mobility", "Hug_Knees_To_Chest": "mobility",
    "Standing_Lateral_Stretch": "mobility", "The_Straddle": "mobility", "Round_The_World_Shoulder_Stretch": "mobility",
    "Chest_And_Front_Of_Shoulder_Stretch": "mobility", "Seated_Calf_Stretch": "mobility", "Windmills": "mobility",
    "Monster_Walk": "mobility", "External_Rotation_with_Band": "mobility",
}

# Movements the catalogue lacks that a functional-fitness floor can't do without (ours).
OWN = [
    {"id": "ski-erg", "name": "Ski Erg", "equipment": ["ski_erg"], "pattern": "monostructural", "level": "beginner",
     "primaryMuscles": ["lats"], "secondaryMuscles": ["triceps", "abdominals", "shoulders"], "category": "cardio", "mechanic": "compound"},
    {"id": "wall-ball", "name": "Wall Ball", "equipment": ["medicine_ball"], "pattern": "squat", "level": "beginner",
     "primaryMuscles": ["quadriceps"], "secondaryMuscles": ["glutes", "shoulders", "triceps"], "category": "strength", "mechanic": "compound"},
    {"id": "burpee", "name": "Burpee", "equipment": [], "pattern": "plyometric", "level": "beginner",
     "primaryMuscles": ["chest"], "secondaryMuscles": ["quadriceps", "shoulders", "triceps"], "category": "plyometrics", "mechanic": "compound"},
    {"id": "kettlebell-swing", "name": "Kettlebell Swing", "equipment": ["kettlebell"], "pattern": "hinge", "level": "beginner",
     "primaryMuscles": ["hamstrings"], "secondaryMuscles": ["glutes", "lower back", "shoulders"], "category": "strength", "mechanic": "compound"},
    {"id": "barbell-thruster", "name": "Barbell Thruster", "equipment": ["barbell"], "pattern": "squat", "level": "intermediate",
     "primaryMuscles": ["quadriceps"], "secondaryMuscles": ["shoulders", "glutes", "triceps"], "category": "strength", "mechanic": "compound"},
    {"id": "toes-to-bar", "name": "Toes-to-Bar", "equipment": ["pull_up_rig"], "pattern": "core", "level": "intermediate",
     "primaryMuscles": ["abdominals"], "secondaryMuscles": ["lats", "forearms"], "category": "strength", "mechanic": "compound"},
    {"id": "hollow-hold", "name": "Hollow Hold", "equipment": [], "pattern": "core", "level": "beginner",
     "primaryMuscles": ["abdominals"], "secondaryMuscles": [], "category": "strength", "mechanic": "isolation"},
    {"id": "ring-row", "name": "Ring Row", "equipment": ["rings"], "pattern": "pull_horizontal", "level": "beginner",
     "primaryMuscles": ["middle back"], "secondaryMuscles": ["biceps", "lats"], "category": "strength", "mechanic": "compound"},
    {"id": "box-step-up", "name": "Box Step-Up", "equipment": ["box"], "pattern": "lunge", "level": "beginner",
     "primaryMuscles": ["quadriceps"], "secondaryMuscles": ["glutes", "hamstrings"], "category": "strength", "mechanic": "compound"},
    {"id": "double-under", "name": "Double-Under", "equipment": ["jump_rope"], "pattern": "monostructural", "level": "intermediate",
     "primaryMuscles": ["calves"], "secondaryMuscles": ["quadriceps", "shoulders"], "category": "cardio", "mechanic": "compound"},
    {"id": "air-bike", "name": "Air Bike (fan bike)", "equipment": ["bike"], "pattern": "monostructural", "level": "beginner",
     "primaryMuscles": ["quadriceps"], "secondaryMuscles": ["shoulders", "hamstrings", "glutes"], "category": "cardio", "mechanic": "compound"},
    {"id": "dumbbell-snatch", "name": "Dumbbell Snatch", "equipment": ["dumbbell"], "pattern": "olympic", "level": "intermediate",
     "primaryMuscles": ["shoulders"], "secondaryMuscles": ["hamstrings", "glutes", "traps"], "category": "olympic weightlifting", "mechanic": "compound"},
]

CATALOGUE_EQUIPMENT = {
    "barbell": ["barbell"], "dumbbell": ["dumbbell"], "kettlebells": ["kettlebell"], "bands": ["band"],
    "medicine ball": ["medicine_ball"], "body only": [], None: [], "e-z curl bar": ["barbell"],
}
# Where the catalogue says "machine" or "other", or the floor needs a fixture, by name.
EQUIPMENT_BY_NAME = [
    (r"rowing", ["rower"]), (r"bicycling|recumbent bike", ["bike"]), (r"treadmill", ["treadmill"]),
    (r"stairmaster|elliptical", ["cardio_machine"]), (r"rope jumping", ["jump_rope"]),
    (r"pull[- ]?ups?|chin|muscle up|hanging|rope climb|wide-grip rear", ["pull_up_rig"]),
    (r"ring dips|straps", ["rings"]), (r"parallel bar|dips - triceps", ["pull_up_rig"]), (r"bench dips", ["bench"]),
    (r"box jump|box skip|step-?up|single-leg high box", ["box"]), (r"bench press|incline dumbbell press|dumbbell incline row|dumbbell bench|squat to a bench", ["bench"]),
    (r"farmer", ["dumbbell"]), (r"sled", ["sled"]), (r"yoke", ["sled"]), (r"tire", ["sled"]), (r"atlas", ["sled"]),
    (r"battling", ["battle_rope"]), (r"sledgehammer", ["sled"]), (r"inverted row$", ["barbell"]),
    (r"ab roller", ["ab_wheel"]), (r"trap bar", ["barbell"]), (r"landmine|plate twist|t-bar", ["barbell"]),
    (r"band assisted", ["pull_up_rig", "band"]), (r"hurdle", []), (r"overhead slam", ["medicine_ball"]),
    (r"kettlebell", ["kettlebell"]),
]
RACKED = re.compile(r"^(barbell (full )?squat|front barbell squat|front squat|box squat|wide stance barbell|zercher|barbell bench|close-grip barbell bench|barbell incline bench|standing military|barbell shoulder|push press|rack pulls|good morning$|barbell lunge|barbell walking lunge|barbell side split)", re.I)

GROUPS = {
    "quadriceps": "legs", "hamstrings": "legs", "glutes": "legs", "calves": "legs", "adductors": "legs",
    "abductors": "legs", "chest": "push", "shoulders": "push", "triceps": "push", "lats": "pull",
    "middle back": "pull", "biceps": "pull", "traps": "pull", "forearms": "pull", "neck": "pull",
    "abdominals": "core", "lower back": "core",
}

def tags_for(name, pattern, equipment, category):
    n = name.lower()
    t = set()
    loaded = bool(set(equipment) & {"barbell", "dumbbell", "kettlebell", "medicine_ball", "sled"})
    barbell = "barbell" in equipment
    if pattern in ("squat", "lunge"):
        if loaded or "band" in equipment:
            t.add("knee_flexion_loaded")
        if not re.search(r"step|box squat|sit squat|to a bench|high box", n):
            t.add("deep_knee_flexion")
        if barbell and not re.search(r"hip thrust|glute bridge", n):
            t.add("axial_load")
    if pattern == "lunge" or re.search(r"pistol|one-legged|single-leg|one leg|step", n):
        t.add("single_leg")
    if pattern == "hinge":
        if not re.search(r"bridge|superman|hyperextension|pelvic tilt|hip lift", n):
            t.add("hinge")
        if re.search(r"hyperextension|superman|good morning|glute ham", n):
            t.add("spinal_extension")
        if barbell or re.search(r"tire|atlas|deadlift|swing|clean", n):
            t.add("axial_load") if barbell or re.search(r"tire|atlas", n) else None
        if re.search(r"deadlift|swing|clean|pull|tire|atlas|rack", n) and "band" not in equipment:
            t.add("grip")
    if pattern == "olympic":
        t |= {"hinge", "grip", "wrist_extension"}
        if barbell:
            t.add("axial_load")
        if re.search(r"snatch|jerk|press|balance", n):
            t.add("overhead")
        if re.search(r"clean|snatch|balance", n) and not re.search(r"pull|muscle|power|hang clean$|dumbbell clean", n):
            t.add("deep_knee_flexion")
            t.add("knee_flexion_loaded")
        if re.search(r"jerk", n):
            t.add("knee_flexion_loaded")
    if pattern == "push_vertical":
        t |= {"overhead", "wrist_extension"}
        if barbell or (not re.search(r"seated", n) and loaded):
            t.add("axial_load") if barbell or "push press" in n else None
        if "handstand" in n:
            t |= {"axial_load", "inverted"}
    if pattern == "push_horizontal":
        t.add("horizontal_press")
        if re.search(r"push-?up|dips|plank", n):
            t.add("wrist_extension")
        if "dip" in n:
            t.add("shoulder_extension_loaded")
    if pattern == "pull_horizontal":
        t.add("upper_pull")
        if not "band" in equipment:
            t.add("grip")
        if re.search(r"bent over|t-bar|reverse grip", n):
            t.add("hinge")
        if "renegade" in n:
            t.add("wrist_extension")
        if "upright" in n:
            t.add("overhead")
    if pattern == "pull_vertical":
        t |= {"upper_pull", "hanging", "grip", "overhead"}
        if "muscle up" in n:
            t.add("shoulder_extension_loaded")
    if pattern == "carry":
        t.add("grip") if "farmer" in n or "yoke" not in n else None
        if re.search(r"farmer|yoke", n):
            t.add("axial_load")
        if "get-up" in n:
            t |= {"overhead", "deep_knee_flexion", "wrist_extension"}
            t.discard("grip")
        if "sled" in n:
            t.add("knee_flexion_loaded")
    if pattern == "core":
        if re.search(r"crunch|sit-up|jackknife|leg raise|pike|pull-in|toes|bottoms up|elbow to knee|rollout|roller", n):
            t.add("spinal_flexion")
        if re.search(r"hanging|toes", n):
            t |= {"hanging", "grip", "overhead"}
        if re.search(r"plank|spider|rollout|roller", n):
            t.add("wrist_extension")
        if "cross-body" in n or "elbow to knee" in n:
            t.add("rotation")
    if pattern == "rotation":
        t.add("rotation")
        if re.search(r"windmill", n):
            t |= {"overhead", "hinge"}
        if loaded and not re.search(r"twist|wipers", n):
            t.add("grip")
        if re.search(r"twist", n):
            t.add("spinal_flexion")
    if pattern == "plyometric":
        if not re.search(r"slam|sledgehammer|battling|chest pass", n):
            t.add("impact")
        if re.search(r"jump|hop|bound|tuck|burpee|squat", n):
            t.add("deep_knee_flexion") if re.search(r"squat|tuck|burpee|frog|box", n) else None
        if re.search(r"lateral|side", n):
            t.add("lateral")
        if re.search(r"slam|sledgehammer", n):
            t |= {"overhead", "spinal_flexion", "grip" if "sledgehammer" in n else "overhead"}
        if re.search(r"battling", n):
            t.add("grip")
        if re.search(r"burpee|mountain|plyo push", n):
            t.add("wrist_extension")
        if "plyo push" in n:
            t.add("horizontal_press")
        if re.search(r"single|split|scissors|bound", n):
            t.add("single_leg")
        if "weighted" in n:
            t |= {"axial_load", "knee_flexion_loaded"}
    if pattern == "monostructural":
        if re.search(r"running|jogging|sprint|rope|double-under", n):
            t.add("impact")
        if re.search(r"rowing|ski", n):
            t |= {"grip", "spinal_flexion"} if "ski" in n else {"grip", "knee_flexion_loaded"}
        if "rowing" in n:
            t.add("deep_knee_flexion")
        if "air bike" in n:
            t.add("grip")
    if pattern == "squat" and re.search(r"overhead|thruster|wall ball", n):
        t.add("overhead")
    if pattern == "squat" and re.search(r"front|clean grip|thruster|goblet|zercher", n) and barbell:
        t.add("wrist_extension")
    if pattern == "mobility":
        if re.search(r"world.?s greatest|runners|kneeling hip", n):
            t.add("kneeling")
        if re.search(r"childs|cat|straddle|hug knees", n):
            t.add("spinal_flexion") if re.search(r"hug|childs|cat", n) else None
    if re.search(r"kneeling|on knees|kneel", n) and pattern != "mobility":
        t.add("kneeling")
    if loaded and pattern in ("squat", "lunge", "hinge", "carry", "olympic") and "kettlebell" in equipment or "dumbbell" in equipment and pattern in ("squat", "lunge", "hinge", "carry"):
        t.add("grip")
    return sorted(t)

def roles_for(name, pattern, category):
    n = name.lower()
    if pattern == "mobility":
        if re.search(r"circles|dynamic|inchworm|world.?s greatest|windmills|monster|external rotation|cat", n):
            return ["warmup", "cooldown"]
        return ["cooldown"]
    if pattern == "monostructural":
        return ["warmup", "main"]
    if re.search(r"^(bodyweight squat|pushups|incline push-up|star jump|dead bug|plank|bodyweight walking lunge|inverted row|band good morning|butt lift bridge|hollow|superman|fast skipping|ring row)", n):
        return ["warmup", "main"]
    return ["main"]

def unit_for(pattern, name):
    n = name.lower()
    if pattern == "monostructural":
        return "calories" if re.search(r"rowing|bicycling|bike|ski|elliptical|stair", n) else "meters" if re.search(r"running|jogging|sprint", n) else "reps"
    if pattern == "carry" and "get-up" not in n:
        return "meters"
    if pattern == "mobility" or re.search(r"plank|hollow|wipers|battling", n):
        return "seconds"
    return "reps"

def slug(s):
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", s.lower())).strip("-")

def main():
    source = json.loads(SOURCE.read_text())
    by_id = {x["id"]: x for x in source}
    missing = [k for k in SELECTED if k not in by_id]
    assert not missing, f"not in the catalogue: {missing}"
    out = []
    for sid, pattern in SELECTED.items():
        x = by_id[sid]
        equipment = None
        for rx, eq in EQUIPMENT_BY_NAME:
            if re.search(rx, x["name"], re.I):
                equipment = list(eq)
                break
        if equipment is None or (x["equipment"] in CATALOGUE_EQUIPMENT and x["equipment"] not in ("body only", None) and not set(equipment)):
            equipment = list(CATALOGUE_EQUIPMENT.get(x["equipment"], []))
        base = CATALOGUE_EQUIPMENT.get(x["equipment"])
        if base:
            equipment = sorted(set(equipment) | set(base))
        if RACKED.search(x["name"]):
            equipment = sorted(set(equipment) | {"squat_rack"})
        if x["equipment"] in ("machine", "other") and not equipment and pattern not in ("plyometric", "mobility", "core"):
            raise SystemExit(f"no equipment mapping for {sid} ({x['name']})")
        out.append({
            "id": slug(sid), "name": x["name"], "source": f"free-exercise-db:{sid}", "equipment": sorted(set(equipment)),
            "pattern": pattern, "category": x["category"], "mechanic": x.get("mechanic"), "level": x["level"],
            "primaryMuscles": x["primaryMuscles"], "secondaryMuscles": x["secondaryMuscles"],
        })
    for own in OWN:
        out.append({**own, "source": "iron-metrics", "equipment": sorted(own["equipment"])})
    for e in out:
        e["muscleGroups"] = sorted({GROUPS[m] for m in e["primaryMuscles"]})
        e["tags"] = tags_for(e["name"], e["pattern"], e["equipment"], e["category"])
        e["impact"] = "high" if "impact" in e["tags"] else "none" if e["pattern"] in ("mobility", "core", "rotation") or "seated" in e["name"].lower() else "low"
        e["roles"] = roles_for(e["name"], e["pattern"], e["category"])
        e["unit"] = unit_for(e["pattern"], e["name"])
    rank = {"beginner": 0, "intermediate": 1, "expert": 2}
    for e in out:
        same = [c for c in out if c is not e and c["pattern"] == e["pattern"] and (("main" in c["roles"]) == ("main" in e["roles"]))]
        def key(c):
            extra = len(set(c["tags"]) - set(e["tags"]))
            shared = len(set(c["tags"]) & set(e["tags"]))
            return (extra, -shared, abs(rank[c["level"]] - rank[e["level"]]), len(c["equipment"]), c["id"])
        easier = [c for c in same if rank[c["level"]] <= rank[e["level"]] and set(c["tags"]) <= set(e["tags"]) and (rank[c["level"]] < rank[e["level"]] or len(c["tags"]) < len(e["tags"]))]
        easier.sort(key=key)
        e["scaled"] = easier[0]["id"] if easier else None
        beginner = [c for c in same if c["level"] == "beginner" and len(c["tags"]) <= len(e["tags"])]
        beginner.sort(key=lambda c: (len(set(c["tags"]) - set(e["tags"])), -len(set(c["tags"]) & set(e["tags"])), len(c["equipment"]), c["id"]))
        e["beginner"] = beginner[0]["id"] if beginner and e["level"] != "beginner" else None
        alts = sorted(same, key=key)[:4]
        e["alternatives"] = [c["id"] for c in alts]
    ids = [e["id"] for e in out]
    assert len(ids) == len(set(ids)), "duplicate ids"
    out.sort(key=lambda e: e["id"])
    (HERE / "exercises.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out)} exercises written to {HERE / 'exercises.json'}")

if __name__ == "__main__":
    main()
